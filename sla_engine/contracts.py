"""A customer's SLA contract as a plain value: what it covers, its SLI, period and terms.

The config (``[[contracts]]`` in ``config.toml``) builds these; the report functions in
:mod:`sla_engine.reports.report` evaluate them. Every number that decides money is exact:
targets, thresholds, percents and fees are ``Decimal``; latency limits are seconds as
``Decimal`` too, since they are written by people, not measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sla_engine.accounting.availability import AccountingTerms
from sla_engine.money.credits import CreditTerms
from sla_engine.slis.budget import check_target
from sla_engine.slis.incident_response import ResponseLimits
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import Period, PeriodKind, parse_period, rolling_window, zone

DEFAULT_MIN_COVERAGE = Decimal(90)
"""A period with less of its time measured (in percent) is ``insufficient data``."""


class SLIKind(StrEnum):
    """What a contract measures."""

    AVAILABILITY = "availability"
    LATENCY = "latency"
    QUALITY = "quality"
    INCIDENT_RESPONSE = "incident_response"


class PeriodRule(StrEnum):
    """How a contract's periods are cut: calendar months or quarters, or a rolling window."""

    MONTH = "month"
    QUARTER = "quarter"
    ROLLING = "rolling"


@dataclass(frozen=True, slots=True)
class LatencyObjective:
    """``percentile`` of response times must be at most ``limit_seconds``.

    The SLI percent is the share of answered checks at most ``limit_seconds`` long;
    "p95 <= limit" is the same statement as "at least 95 % of checks within the limit".
    """

    percentile: Decimal
    limit_seconds: Decimal

    def __post_init__(self) -> None:
        if not Decimal(0) < self.percentile < Decimal(100):
            raise ValueError(f"percentile must be within (0, 100), got {self.percentile}")
        if self.limit_seconds <= 0:
            raise ValueError(f"latency limit must be positive, got {self.limit_seconds}")


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A span a contract is measured over: a calendar period or a rolling window."""

    label: str
    tz: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        zone(self.tz)
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a report period's start and end must be timezone-aware")
        # Kept in UTC: two datetimes sharing one ZoneInfo subtract as wall-clock times,
        # so a period across a DST change would have the wrong length.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError("a report period must end after it starts")

    @classmethod
    def of(cls, period: Period) -> ReportPeriod:
        """The report period of a calendar ``period``."""
        return cls(period.label, period.tz, period.start, period.end)

    @property
    def interval(self) -> Interval:
        """``[start, end)`` in UTC."""
        return Interval(self.start, self.end)

    @property
    def total_seconds(self) -> int:
        """Length in whole seconds."""
        return (self.end - self.start) // timedelta(seconds=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """One customer SLA (or an internal SLO, with a rolling period and no fee).

    A contract covers monitors, components, or both; at each instant the covered
    targets combine by the availability precedence (maintenance > down > degraded >
    up > unknown), so overlapping evidence is never counted twice. A period whose
    measured share of time is below ``min_coverage`` percent is ``insufficient data``.
    """

    id: str
    customer_id: str
    customer_name: str
    monitors: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    sli: SLIKind = SLIKind.AVAILABILITY
    target: Decimal
    period: PeriodRule = PeriodRule.MONTH
    tz: str = "UTC"
    window: timedelta | None = None
    terms: AccountingTerms
    credit: CreditTerms
    latency: LatencyObjective | None = None
    response: ResponseLimits | None = None
    min_coverage: Decimal = DEFAULT_MIN_COVERAGE

    def __post_init__(self) -> None:
        object.__setattr__(self, "sli", SLIKind(self.sli))
        object.__setattr__(self, "period", PeriodRule(self.period))
        check_target(self.target)
        try:
            check_target(self.min_coverage)
        except ValueError:
            raise ValueError(
                f"contract {self.id}: min_coverage must be a percent within [0, 100], "
                f"got {self.min_coverage}"
            ) from None
        zone(self.tz)
        if not self.monitors and not self.components:
            raise ValueError(f"contract {self.id}: covers no monitor and no component")
        if (self.period is PeriodRule.ROLLING) != (self.window is not None):
            raise ValueError(f"contract {self.id}: a window goes with a rolling period only")
        if self.window is not None and self.window <= timedelta(0):
            raise ValueError(f"contract {self.id}: the window must be positive")
        if (self.sli is SLIKind.LATENCY) != (self.latency is not None):
            raise ValueError(f"contract {self.id}: latency terms go with a latency SLI only")
        if (self.sli is SLIKind.INCIDENT_RESPONSE) != (self.response is not None):
            raise ValueError(
                f"contract {self.id}: response limits go with an incident_response SLI only"
            )

    def period_named(self, label: str) -> ReportPeriod:
        """The calendar period ``label`` ('2026-10', '2026-Q4') in the contract's zone.

        A quarterly contract asked for a month reports the quarter containing it.
        """
        if self.period is PeriodRule.ROLLING:
            raise ValueError(f"contract {self.id} has a rolling window, not calendar periods")
        period = parse_period(label, self.tz)
        if self.period is PeriodRule.QUARTER and period.kind is PeriodKind.MONTH:
            year, month = int(label[:4]), int(label[5:7])
            period = parse_period(f"{year:04d}-Q{(month - 1) // 3 + 1}", self.tz)
        elif self.period is PeriodRule.MONTH and period.kind is PeriodKind.QUARTER:
            raise ValueError(f"contract {self.id} is measured by month; name a month, not {label}")
        return ReportPeriod.of(period)

    def rolling_period(self, now: datetime) -> ReportPeriod:
        """The rolling window ending at ``now``."""
        if self.window is None:
            raise ValueError(f"contract {self.id} has calendar periods, not a rolling window")
        span = rolling_window(now, self.window)
        days = self.window / timedelta(days=1)
        label = f"rolling {days:g}d" if days == int(days) else f"rolling {self.window}"
        return ReportPeriod(label, self.tz, span.start, span.end)
