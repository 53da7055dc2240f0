"""An SLO's state at one instant: availability, budget, burn rates, alerts, forecast.

Pure: the caller passes the state intervals of the SLO's monitors, the maintenance
windows and ``now``. The monitors combine into one timeline with ``component_state``
(worst, or a quorum), so an SLO on a component measures what its users saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import partial

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    Availability,
    MaintenancePolicy,
    UnknownPolicy,
    compute_availability,
    timeline_from_states,
)
from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.slis.budget import (
    BreachForecast,
    BurnAlert,
    burn_rate,
    error_budget,
    evaluate_burn_alerts,
    forecast_breach,
    multiwindow_rules,
)
from sla_engine.time.intervals import Interval
from sla_engine.time.states import StateInterval

SLO_TERMS = AccountingTerms(
    accounting=Accounting.SECONDS,
    unknown=UnknownPolicy.EXCLUDE,
    maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
)
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def prometheus_duration(span: timedelta) -> str:
    """``span`` as a Prometheus duration (``5m``, ``1h``, ``4m40s``, ``3d``), whole seconds."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        raise ValueError("duration must be at least one second")
    out = ""
    for unit, size in _UNITS:
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def alert_windows(slo_window: timedelta) -> list[timedelta]:
    """Every window the multiwindow rules of ``slo_window`` read, shortest first."""
    rules = multiwindow_rules(slo_window)
    return sorted({w for r in rules for w in (r.long_window, r.short_window)})


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """What one evaluation found."""

    target: Decimal
    slo_window: timedelta
    availability: Availability
    budget_remaining: Fraction | None
    burn_rates: Mapping[timedelta, Fraction]
    alert: BurnAlert | None
    forecast: BreachForecast | None
    forecast_window: timedelta

    @property
    def breached(self) -> bool:
        """The budget over the SLO window is spent (availability below target)."""
        return error_budget(self.availability, self.target).breached


def evaluate_slo(
    intervals: Mapping[str, Sequence[StateInterval]],
    monitors: Sequence[str],
    target: Decimal,
    slo_window: timedelta,
    now: datetime,
    *,
    quorum: int | None = None,
    maintenance: Iterable[Interval] = (),
    terms: AccountingTerms = SLO_TERMS,
    forecast_window: timedelta | None = None,
) -> SLOStatus:
    """Evaluate an SLO over the rolling ``slo_window`` ending at ``now``.

    Burn rates are measured over every window of the workbook rules scaled to
    ``slo_window``; the forecast uses the burn rate over ``forecast_window`` (default:
    the second page rule's long window, 6 h for 30 days). A 100 % target has no budget
    to burn: rates, alerts and forecast are left out.
    """
    window = Interval(now - slo_window, now)
    members = {m: intervals.get(m, ()) for m in monitors}
    combined = combine_intervals("slo", members, window, partial(component_state, quorum=quorum))
    maint = list(maintenance)

    def measure(span: timedelta) -> Availability:
        part = Interval(now - span, now)
        timeline = timeline_from_states(combined, part, now, maintenance=maint)
        return compute_availability(timeline, part, terms)

    overall = measure(slo_window)
    budget = error_budget(overall, target)
    rules = multiwindow_rules(slo_window)
    chosen = forecast_window or rules[1].long_window
    if target == 100:
        return SLOStatus(
            target, slo_window, overall, budget.remaining_share, {}, None, None, chosen
        )
    rates = {
        w: burn_rate(measure(w).bad_fraction, target) for w in {*alert_windows(slo_window), chosen}
    }
    alert = evaluate_burn_alerts(rates, rules)
    remaining = budget.remaining_share
    forecast = (
        forecast_breach(remaining, rates[chosen], slo_window) if remaining is not None else None
    )
    return SLOStatus(target, slo_window, overall, remaining, rates, alert, forecast, chosen)


def forecast_message(
    subject: str,
    forecast: BreachForecast,
    credit_at_risk: tuple[Decimal, str] | None = None,
) -> str | None:
    """``at the current burn rate the SLA of contract X is breached in about N hours...``.

    ``subject`` names what breaches ("the SLA of contract acme", "SLO api-availability").
    None when nothing is burning. Hours are rounded to the nearest whole hour, at least 1.
    """
    hours = forecast.hours
    if hours is None:
        return None
    if hours <= 0:
        text = f"{subject} is already breached"
    else:
        about = max(1, round(hours))
        text = (
            f"at the current burn rate {subject} is breached in about {about} "
            f"hour{'s' if about != 1 else ''}"
        )
    if credit_at_risk is not None:
        amount, currency = credit_at_risk
        text += f"; credits at risk: {amount} {currency}"
    return text
