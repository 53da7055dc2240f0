"""Will a contract's SLA be breached this period at the current burn rate, and at what cost.

Pure: takes the contract's report for the period so far and its report over a recent
window (both from ``sla_engine.reports.report``), returns the forecast and the credits at risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sla_engine.money.credits import credit_for_percent
from sla_engine.reports.report import ContractReport
from sla_engine.slis.budget import BreachForecast, burn_rate, forecast_breach
from sla_engine.slis.slo import forecast_message

# How far below the target "breached" is taken to be when pricing the credit at risk:
# any availability strictly below the target, as the tiers compare it.
_JUST_BELOW = Fraction(1, 10**12)


@dataclass(frozen=True, slots=True)
class ContractForecast:
    """A contract's outlook for its current period; ``breach_at`` None when not burning."""

    contract_id: str
    customer_name: str
    period_label: str
    period_end: datetime
    forecast: BreachForecast
    breach_at: datetime | None
    credit_at_risk: Decimal
    currency: str

    @property
    def breaches_this_period(self) -> bool:
        """True when the budget runs out before the period ends."""
        at = self.breach_at
        return at is not None and at < self.period_end

    def message(self) -> str | None:
        """The sentence an alert carries; None when nothing is burning."""
        return forecast_message(
            f"the SLA of contract {self.contract_id} ({self.customer_name})",
            self.forecast,
            (self.credit_at_risk, self.currency) if self.credit_at_risk > 0 else None,
        )


def _units(span: timedelta, unit: str) -> Fraction:
    if unit == "seconds":
        return Fraction(span // timedelta(microseconds=1), 1_000_000)
    return Fraction(-(-span // timedelta(minutes=1)))


def forecast_contract(
    current: ContractReport, recent: ContractReport, now: datetime
) -> ContractForecast:
    """Forecast from the period so far (``current``) and the burn over ``recent``.

    The period's whole budget is ``(1 - target) x`` its full length in the contract's
    unit (the time not yet measured counted as it will be, nothing removed); what
    remains is that minus the bad time so far. The burn rate is the recent window's
    bad fraction over the allowed fraction.
    """
    contract = current.contract
    allowed = 1 - Fraction(contract.target) / 100
    left = max(current.period.end - current.measured_until, timedelta(0))
    full_total = Fraction(current.total) + _units(left, current.unit)
    budget = allowed * full_total
    if budget > 0:
        remaining = (budget - Fraction(current.bad)) / budget
    else:
        remaining = Fraction(0) if current.bad > 0 else Fraction(1)
    burn = burn_rate(recent.availability.bad_fraction, contract.target) if allowed else Fraction(0)
    at_risk = credit_for_percent(Fraction(contract.target) - _JUST_BELOW, contract.credit)
    forecast = forecast_breach(remaining, burn, current.period.end - current.period.start)
    return ContractForecast(
        contract_id=contract.id,
        customer_name=contract.customer_name,
        period_label=current.period.label,
        period_end=current.period.end,
        forecast=forecast,
        breach_at=forecast.breach_at(now),
        credit_at_risk=at_risk.amount,
        currency=contract.credit.currency,
    )
