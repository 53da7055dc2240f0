"""Error budgets, burn rates and the SRE workbook's multiwindow burn-rate alerts.

The budget is ``(1 - target/100) * total``, in the unit of the availability (seconds
or minutes). Its remaining share ``(budget - bad) / budget`` may go negative and is
never clamped. A 100 % target has a budget of 0: its remaining share is None
(undefined), it is breached by any bad time, and burn rates refuse it (ValueError),
since there is no budget to burn.

Multiwindow alerts (SRE workbook, chapter 5) for a 30-day SLO: page when the burn rate
is above 14.4 over 1h and 5m, or above 6 over 6h and 30m; ticket when above 1 over 3d
and 6h. Those thresholds are budget shares (2 % in 1h, 5 % in 6h, 10 % in 3d). For
another SLO window the window lengths scale in proportion (a 28-day SLO pages over
56m/~4.7m) and the thresholds stay the same, so each rule still means "this share of
the budget is gone". A rule fires only when both burn rates are strictly above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, Inexact, localcontext
from enum import StrEnum
from fractions import Fraction

from sla_engine.accounting.availability import Availability
from sla_engine.money.rounding import quantize, to_fraction

SLO_WINDOW_30D = timedelta(days=30)
_US = timedelta(microseconds=1)


def check_target(target: Decimal) -> Decimal:
    """Return ``target`` if it is an exact percent within [0, 100], else raise."""
    if isinstance(target, bool) or not isinstance(target, Decimal | int):
        raise TypeError(f"target must be a Decimal percent, got {target!r}")
    value = Decimal(target)
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(f"target must be a percent within [0, 100], got {target}")
    return value


def _allowed_fraction(target: Decimal) -> Fraction:
    return 1 - Fraction(check_target(target)) / 100


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """How much bad time a target allows over a window, and how much is left."""

    target: Decimal
    total: Decimal
    consumed: Decimal

    def __post_init__(self) -> None:
        check_target(self.target)
        if self.total < 0 or self.consumed < 0:
            raise ValueError("total and consumed must be >= 0")

    @property
    def budget(self) -> Decimal:
        """``(1 - target/100) * total``, exact."""
        with localcontext() as ctx:
            ctx.prec = 100
            ctx.traps[Inexact] = True
            return (1 - self.target / 100) * self.total

    @property
    def remaining(self) -> Decimal:
        """``budget - consumed``; negative once the budget is overspent."""
        with localcontext() as ctx:
            ctx.prec = 100
            ctx.traps[Inexact] = True
            return self.budget - self.consumed

    @property
    def remaining_share(self) -> Fraction | None:
        """``remaining / budget``, exact and unclamped; None when the budget is 0."""
        if self.budget == 0:
            return None
        return Fraction(self.remaining) / Fraction(self.budget)

    def remaining_percent(self, places: int = 6, rounding: str = ROUND_HALF_UP) -> Decimal | None:
        """The remaining share in percent, rounded for display; None when undefined."""
        share = self.remaining_share
        return None if share is None else quantize(share * 100, places, rounding)

    @property
    def breached(self) -> bool:
        """True when more was consumed than allowed (availability below target)."""
        return self.consumed > self.budget


def error_budget(availability: Availability, target: Decimal) -> ErrorBudget:
    """The error budget of ``availability`` (in its unit) for ``target`` percent."""
    return ErrorBudget(check_target(target), availability.total, availability.bad)


def burn_rate(bad_fraction: Fraction, target: Decimal) -> Fraction:
    """How fast the budget burns: ``bad_fraction / (1 - target/100)``; 1 spends it exactly."""
    bad = to_fraction(bad_fraction)
    if not 0 <= bad <= 1:
        raise ValueError(f"bad_fraction must be within [0, 1], got {bad}")
    allowed = _allowed_fraction(target)
    if allowed == 0:
        raise ValueError("a 100% target has no error budget to burn; alert on any downtime")
    return bad / allowed


class AlertSeverity(StrEnum):
    """What a firing burn-rate rule asks for."""

    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class BurnRateRule:
    """Fire when the burn rate is above ``threshold`` over both windows."""

    severity: AlertSeverity
    long_window: timedelta
    short_window: timedelta
    threshold: Decimal
    budget_share: Decimal

    def __post_init__(self) -> None:
        if not timedelta(0) < self.short_window <= self.long_window:
            raise ValueError("need 0 < short_window <= long_window")
        if self.threshold <= 0:
            raise ValueError("threshold must be positive")


# (severity, share of the budget, long window for a 30-day SLO); short = long / 12.
_WORKBOOK = (
    (AlertSeverity.PAGE, Decimal("0.02"), timedelta(hours=1)),
    (AlertSeverity.PAGE, Decimal("0.05"), timedelta(hours=6)),
    (AlertSeverity.TICKET, Decimal("0.10"), timedelta(days=3)),
)


def multiwindow_rules(slo_window: timedelta = SLO_WINDOW_30D) -> tuple[BurnRateRule, ...]:
    """The workbook's three rules, window lengths scaled to ``slo_window``.

    Scaled windows are rounded down to the microsecond.
    """
    if slo_window <= timedelta(0):
        raise ValueError(f"slo_window must be positive, got {slo_window}")
    rules = []
    for severity, share, base in _WORKBOOK:
        long_window = timedelta(
            microseconds=(base // _US) * (slo_window // _US) // (SLO_WINDOW_30D // _US)
        )
        if long_window < timedelta(microseconds=12):
            raise ValueError(f"slo_window {slo_window} is too short to scale the alert windows")
        threshold = (share * Decimal(SLO_WINDOW_30D // _US) / Decimal(base // _US)).normalize()
        rules.append(BurnRateRule(severity, long_window, long_window / 12, threshold, share))
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    """One rule against the measured burn rates."""

    rule: BurnRateRule
    long_burn: Fraction
    short_burn: Fraction

    @property
    def firing(self) -> bool:
        """Both burn rates strictly above the threshold (exactly at it does not fire)."""
        limit = Fraction(self.rule.threshold)
        return self.long_burn > limit and self.short_burn > limit


@dataclass(frozen=True, slots=True)
class BurnAlert:
    """The outcome of all rules: the most urgent severity firing, or None."""

    evaluations: tuple[RuleEvaluation, ...]

    @property
    def severity(self) -> AlertSeverity | None:
        """PAGE if any page rule fires, else TICKET if a ticket rule fires, else None."""
        firing = {e.rule.severity for e in self.evaluations if e.firing}
        for severity in (AlertSeverity.PAGE, AlertSeverity.TICKET):
            if severity in firing:
                return severity
        return None


def evaluate_burn_alerts(
    burn_rates: Mapping[timedelta, Fraction],
    rules: tuple[BurnRateRule, ...] | None = None,
) -> BurnAlert:
    """Evaluate ``rules`` (default: the 30-day workbook rules) on burn rates per window.

    ``burn_rates`` maps each rule window length to the burn rate measured over the
    rolling window of that length ending now; a missing window is a ValueError.
    """
    chosen = multiwindow_rules() if rules is None else rules
    evaluations = []
    for rule in chosen:
        missing = [w for w in (rule.long_window, rule.short_window) if w not in burn_rates]
        if missing:
            raise ValueError(f"no burn rate given for window(s) {', '.join(map(str, missing))}")
        evaluations.append(
            RuleEvaluation(
                rule,
                to_fraction(burn_rates[rule.long_window]),
                to_fraction(burn_rates[rule.short_window]),
            )
        )
    return BurnAlert(tuple(evaluations))


@dataclass(frozen=True, slots=True)
class BreachForecast:
    """When the budget runs out at the current burn rate; None if it is not burning."""

    remaining_share: Fraction
    burn_rate: Fraction
    slo_window: timedelta

    @property
    def hours(self) -> Fraction | None:
        """Hours until the budget is gone: 0 if already gone, None if not burning."""
        if self.remaining_share <= 0:
            return Fraction(0)
        if self.burn_rate <= 0:
            return None
        window_hours = Fraction(self.slo_window // _US, 3_600_000_000)
        return self.remaining_share * window_hours / self.burn_rate

    @property
    def time_left(self) -> timedelta | None:
        """``hours`` as a timedelta, rounded down to the microsecond."""
        hours = self.hours
        if hours is None:
            return None
        return timedelta(microseconds=int(hours * 3_600_000_000))

    def breach_at(self, now: datetime) -> datetime | None:
        """The instant the budget runs out, counting from ``now``."""
        left = self.time_left
        return None if left is None else now + left


def forecast_breach(
    remaining_share: Fraction, burn_rate: Fraction, slo_window: timedelta = SLO_WINDOW_30D
) -> BreachForecast:
    """Forecast budget exhaustion: a burn rate of 1 spends a whole budget per ``slo_window``."""
    if slo_window <= timedelta(0):
        raise ValueError("slo_window must be positive")
    return BreachForecast(to_fraction(remaining_share), to_fraction(burn_rate), slo_window)
