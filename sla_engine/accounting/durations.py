"""Availability from time per state, when the spans themselves are not needed.

One monitor's state intervals are disjoint, so under ``seconds`` accounting with no
exclusions and no scheduled maintenance beside the intervals, its availability needs
only how long it spent in each state inside the window: a database sums those in one
query, where walking every interval costs time per interval. The answer equals
:func:`~sla_engine.accounting.availability.compute_availability` over
:func:`~sla_engine.accounting.availability.timeline_from_states` exactly (the tests hold
the two together); everything else (minute rules, exclusions, maintenance windows,
several monitors whose evidence overlaps) takes that exact path instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
)
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State, StateInterval

_MICROSECOND = timedelta(microseconds=1)


def measured_window(window: Interval, now: datetime | None) -> Interval:
    """The part of ``window`` measured at ``now`` (all of it when ``now`` is None)."""
    if now is None:
        return window
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return Interval(window.start, min(window.end, max(now, window.start)))


def _seconds(span: timedelta) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return Decimal(span // _MICROSECOND) / Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class DurationAvailability:
    """Exact seconds-accounting totals of one monitor over a window, and its kinds of time."""

    window: Interval
    measured_until: datetime
    terms: AccountingTerms
    total: Decimal
    bad: Decimal
    downtime: timedelta
    degraded: timedelta
    maintenance: timedelta
    unknown: timedelta
    removed: timedelta

    @property
    def ratio(self) -> Fraction:
        """Availability as an exact ratio in [0, 1] (1 when nothing was measured)."""
        if self.total == 0:
            return Fraction(1)
        return 1 - Fraction(self.bad) / Fraction(self.total)


def availability_from_durations(
    durations: Mapping[State, timedelta],
    window: Interval,
    terms: AccountingTerms,
    now: datetime | None = None,
) -> DurationAvailability:
    """Availability of ``window`` from one monitor's time per state inside it.

    ``durations`` is the time each state's intervals (disjoint, as one monitor's are)
    cover inside the measured window (``window`` cut at ``now``; open intervals run to
    that cut); time no state covers is unknown. Only ``seconds`` accounting: the minute
    rules need to know where the downtime lies.
    """
    if terms.accounting is not Accounting.SECONDS:
        raise ValueError("availability from durations needs seconds accounting")
    measured = measured_window(window, now)
    spans = {state: durations.get(state, timedelta()) for state in State}
    if any(d < timedelta() for d in spans.values()):
        raise ValueError("durations must not be negative")
    covered = sum(spans.values(), timedelta())
    if covered > measured.duration:
        raise ValueError("durations add up to more than the measured window (overlapping?)")
    unknown = spans[State.UNKNOWN] + measured.duration - covered
    down = spans[State.DOWN]
    bad = down + unknown if terms.unknown is UnknownPolicy.DOWN else down
    removed = timedelta()
    if terms.maintenance is MaintenancePolicy.EXCLUDE_FROM_TOTAL:
        removed += spans[State.MAINTENANCE]
    if terms.unknown is UnknownPolicy.EXCLUDE:
        removed += unknown
    return DurationAvailability(
        window=window,
        measured_until=measured.end,
        terms=terms,
        total=_seconds(measured.duration - removed),
        bad=_seconds(bad),
        downtime=down,
        degraded=spans[State.DEGRADED],
        maintenance=spans[State.MAINTENANCE],
        unknown=unknown,
        removed=removed,
    )


def durations_of(
    state_intervals: Iterable[StateInterval], window: Interval, now: datetime | None = None
) -> dict[State, timedelta]:
    """Time per state of ``state_intervals`` inside the measured window (what a store sums).

    Open intervals run to the measured window's end, as in ``timeline_from_states``.
    """
    measured = measured_window(window, now)
    out = dict.fromkeys(State, timedelta())
    for si in state_intervals:
        end = si.end if si.end is not None else max(measured.end, si.start)
        start, end = max(si.start, measured.start), min(end, measured.end)
        if start < end:
            out[si.state] += end - start
    return out
