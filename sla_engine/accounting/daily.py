"""A timeline cut into local days: each day's downtime, maintenance and unknown time.

Status pages draw one bar per local day and read each day's availability off it. Doing
that with :func:`~sla_engine.accounting.availability.compute_availability` once per day repeats
the set algebra 90 times per component; here one sweep over the timeline's sorted spans
fills every day at once. The figures are those of ``compute_availability`` under
``seconds`` accounting with maintenance and unknown time left out of the total (the
tests check that, day by day).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction

from sla_engine.accounting.availability import Timeline
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State, StateInterval

_ZERO = timedelta()
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class DayTotals:
    """How one local day's time divides; ``measured`` is the part up to ``until``."""

    day: date
    span: Interval
    measured: timedelta
    down: timedelta
    degraded: timedelta
    maintenance: timedelta
    unknown: timedelta

    @property
    def counted(self) -> timedelta:
        """Time that counts: measured, less maintenance and time without data."""
        return self.measured - self.maintenance - self.unknown

    @property
    def ratio(self) -> Fraction | None:
        """Availability as an exact ratio; None when nothing in the day counted."""
        counted = self.counted
        if counted <= _ZERO:
            return None
        return 1 - Fraction(self.down // _US, counted // _US)


def _spread(spans: Sequence[Interval], bounds: Sequence[Interval]) -> list[timedelta]:
    """The time of the sorted, disjoint ``spans`` inside each of the sorted ``bounds``."""
    out = [_ZERO] * len(bounds)
    i = 0
    for span in spans:
        while i < len(bounds) and bounds[i].end <= span.start:
            i += 1
        k = i
        while k < len(bounds) and bounds[k].start < span.end:
            start = max(span.start, bounds[k].start)
            end = min(span.end, bounds[k].end)
            if start < end:
                out[k] += end - start
            k += 1
    return out


def daily_totals(timeline: Timeline, days: Sequence[tuple[date, Interval]]) -> list[DayTotals]:
    """Each of ``days`` (from ``periods.local_days``) with its share of ``timeline``.

    Time after ``timeline.measured_until`` is not measured; a day wholly after it has
    zero of everything.
    """
    until: datetime | None = timeline.measured_until
    bounds = []
    for _, span in days:
        end = span.end if until is None else max(span.start, min(span.end, until))
        bounds.append(Interval(span.start, end))
    down = _spread(timeline.downtime, bounds)
    degraded = _spread(timeline.degraded, bounds)
    maintenance = _spread(timeline.maintenance, bounds)
    unknown = _spread(timeline.unknown, bounds)
    return [
        DayTotals(day, span, measured.duration, down[k], degraded[k], maintenance[k], unknown[k])
        for k, ((day, span), measured) in enumerate(zip(days, bounds, strict=True))
    ]


@dataclass(frozen=True, slots=True)
class DayGrid:
    """Local days cut at ``until``: made once, used for every component of a page."""

    days: tuple[tuple[date, Interval], ...]
    until: datetime
    measured: tuple[Interval, ...]

    @classmethod
    def of(cls, days: Sequence[tuple[date, Interval]], until: datetime) -> DayGrid:
        """``days`` (from ``periods.local_days``), each measured up to ``until``."""
        measured = tuple(
            Interval(span.start, max(span.start, min(span.end, until))) for _, span in days
        )
        return cls(tuple(days), until, measured)


def daily_totals_of_states(intervals: Sequence[StateInterval], grid: DayGrid) -> list[DayTotals]:
    """``daily_totals`` of the timeline of sorted, disjoint, closed state intervals.

    What ``components.combine_intervals`` returns needs no precedence sorted out and
    no timeline built: this gives the same days as
    ``daily_totals(timeline_from_states(intervals, window, grid.until), grid.days)``
    (without scheduled maintenance), faster. Time no interval covers is unknown, and
    so are intervals in state ``unknown``.
    """
    until = grid.until
    kinds: dict[State, list[Interval]] = {s: [] for s in State}
    known: list[Interval] = []
    previous_end: datetime | None = None
    for si in intervals:
        if si.end is None:
            raise ValueError("daily_totals_of_states takes closed intervals")
        if previous_end is not None and si.start < previous_end:
            raise ValueError("daily_totals_of_states takes sorted, disjoint intervals")
        previous_end = si.end
        end = min(si.end, until)
        if si.start < end:
            iv = Interval(si.start, end)
            kinds[si.state].append(iv)
            if si.state is not State.UNKNOWN:
                known.append(iv)
    bounds = grid.measured
    down = _spread(kinds[State.DOWN], bounds)
    degraded = _spread(kinds[State.DEGRADED], bounds)
    maintenance = _spread(kinds[State.MAINTENANCE], bounds)
    seen = _spread(known, bounds)
    return [
        DayTotals(
            day,
            span,
            measured.duration,
            down[k],
            degraded[k],
            maintenance[k],
            measured.duration - seen[k],
        )
        for k, ((day, span), measured) in enumerate(zip(grid.days, bounds, strict=True))
    ]
