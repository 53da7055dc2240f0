"""Availability over a window under a contract's accounting rules.

The steps, each a pure function of the one before:

1. A :class:`Timeline` classifies time in the window into downtime, degraded,
   maintenance and unknown spans (the rest is up). Where evidence overlaps, the
   precedence is ``maintenance > down > degraded > up > unknown``: scheduled
   maintenance excuses downtime, downtime is worse than a slow answer, and any
   evidence at all beats having none.
2. :func:`compute_availability` applies :class:`AccountingTerms`:

   * bad time = downtime, plus unknown time when the unknown policy is ``down``,
     minus any exclusions (customer-caused, force majeure). Excluded downtime is not
     downtime but stays in the total, like ``count_as_up`` maintenance.
   * removed time = maintenance when its policy is ``exclude_from_total``, plus
     unknown time when the unknown policy is ``exclude``. It leaves the total.
   * ``seconds``: total = window - removed, bad = bad time, both exact seconds.
   * ``minutes_any``: the window is cut into minutes aligned to its start (the last
     one may be partial); a minute is bad if any bad time touches it.
   * ``minutes_full``: a minute is bad only if bad time covers all of it that is not
     removed time (and bad time touches it), and only in runs of at least
     ``min_downtime_minutes`` consecutive bad minutes (0 and 1 both mean any run). So
     a minute of 59 s maintenance and 1 s downtime is a bad minute: otherwise adding
     that second of downtime would turn a removed minute into a good one and raise
     availability (found by the property "more downtime never raises availability").
     Minutes of a run too short to count are good minutes, and stay in the total
     even when the rest of them is removed time (issue 13: dropping them turned
     June's 43,200 minutes into 43,199 and 99 % into 98.999977 %).
     So the rule itself is not monotone: downtime that replaces removed time
     (excluded maintenance or unknown) in a run shorter than ``min_downtime_minutes``
     turns removed minutes into counted, good ones.
   * For both minute rules, a minute leaves the total only if removed time covers all
     of it (then nothing bad touches it); a minute partly in maintenance and otherwise
     up, or partly down in a run too short to count, is a good minute.

Degraded time counts as up (the service answered) but is always reported, as are
maintenance and unknown time. A window with nothing left to measure (total 0) has
availability 1: nothing went wrong in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction

from sla_engine.accounting.exclusions import Exclusion
from sla_engine.money.rounding import quantize
from sla_engine.time.intervals import (
    Interval,
    clip,
    intersect,
    slot_setter,
    subtract,
    total,
    union,
)
from sla_engine.time.states import State, StateInterval

_MICROSECOND = timedelta(microseconds=1)
_MINUTE_US = 60_000_000


class Accounting(StrEnum):
    """How downtime is measured: exact seconds or minutes (any touch / whole minutes)."""

    SECONDS = "seconds"
    MINUTES_ANY = "minutes_any"
    MINUTES_FULL = "minutes_full"


class MaintenancePolicy(StrEnum):
    """What maintenance does to the total: leaves it, or stays in it as up time."""

    EXCLUDE_FROM_TOTAL = "exclude_from_total"
    COUNT_AS_UP = "count_as_up"


class UnknownPolicy(StrEnum):
    """How time without data counts: as up, as down, or not at all."""

    UP = "up"
    DOWN = "down"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountingTerms:
    """The accounting part of a contract or SLO; ``unknown`` has no default on purpose."""

    accounting: Accounting
    unknown: UnknownPolicy
    maintenance: MaintenancePolicy = MaintenancePolicy.COUNT_AS_UP
    min_downtime_minutes: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "accounting", Accounting(self.accounting))
        object.__setattr__(self, "unknown", UnknownPolicy(self.unknown))
        object.__setattr__(self, "maintenance", MaintenancePolicy(self.maintenance))
        if isinstance(self.min_downtime_minutes, bool) or self.min_downtime_minutes < 0:
            raise ValueError(f"min_downtime_minutes must be >= 0, got {self.min_downtime_minutes}")
        if self.min_downtime_minutes > 1 and self.accounting is not Accounting.MINUTES_FULL:
            raise ValueError("min_downtime_minutes applies only to minutes_full accounting")


def _normalized(name: str, spans: tuple[Interval, ...]) -> None:
    if list(spans) != union(spans):
        raise ValueError(f"Timeline.{name} must be sorted, disjoint, non-touching, non-empty")


@dataclass(frozen=True, slots=True)
class Timeline:
    """Classified spans (each sorted and disjoint, the kinds disjoint from each other).

    Time in none of them is up. ``down_during_maintenance`` is downtime that
    maintenance took precedence over (reported, never counted). ``measured_until``
    cuts every window measured against this timeline: nothing after it is counted.
    Build one with :func:`timeline_from_states` or :func:`timeline_from_spans`.
    """

    downtime: tuple[Interval, ...] = ()
    degraded: tuple[Interval, ...] = ()
    maintenance: tuple[Interval, ...] = ()
    unknown: tuple[Interval, ...] = ()
    down_during_maintenance: tuple[Interval, ...] = ()
    measured_until: datetime | None = None

    def __post_init__(self) -> None:
        kinds = {
            "downtime": self.downtime,
            "degraded": self.degraded,
            "maintenance": self.maintenance,
            "unknown": self.unknown,
        }
        for name, spans in kinds.items():
            _normalized(name, spans)
        _normalized("down_during_maintenance", self.down_during_maintenance)
        every = [iv for spans in kinds.values() for iv in spans]
        if total(every) != sum((iv.duration for iv in every), timedelta()):
            raise ValueError("Timeline kinds overlap; build it with timeline_from_spans")
        if subtract(self.down_during_maintenance, self.maintenance):
            raise ValueError("Timeline.down_during_maintenance must lie within maintenance")
        if self.measured_until is not None and self.measured_until.tzinfo is None:
            raise ValueError("Timeline.measured_until must be timezone-aware")


def _build(
    *,
    downtime: Iterable[Interval],
    maintenance: Iterable[Interval],
    unknown: Iterable[Interval],
    degraded: Iterable[Interval],
    up: Iterable[Interval],
    measured_until: datetime | None,
) -> Timeline:
    maint = union(maintenance)
    raw_down = union(downtime)
    down = subtract(raw_down, maint)
    slow = subtract(degraded, maint + down)
    seen = union([*maint, *down, *slow, *up])
    if measured_until is not None and measured_until.tzinfo is None:
        raise ValueError("Timeline.measured_until must be timezone-aware")
    # Normalized and disjoint by construction (each kind is what the ones before it
    # left): the checks of Timeline.__post_init__, which sort and merge every kind
    # again, are for timelines built by hand.
    timeline = object.__new__(Timeline)
    _set_timeline(timeline, "downtime", tuple(down))
    _set_timeline(timeline, "degraded", tuple(slow))
    _set_timeline(timeline, "maintenance", tuple(maint))
    _set_timeline(timeline, "unknown", tuple(subtract(unknown, seen)))
    _set_timeline(timeline, "down_during_maintenance", tuple(intersect(raw_down, maint)))
    _set_timeline(timeline, "measured_until", measured_until)
    return timeline


def _set_timeline(timeline: Timeline, name: str, value: object) -> None:
    slot_setter(Timeline, name)(timeline, value)


def timeline_from_spans(
    downtime: Iterable[Interval],
    maintenance: Iterable[Interval] = (),
    *,
    unknown: Iterable[Interval] = (),
    degraded: Iterable[Interval] = (),
    measured_until: datetime | None = None,
) -> Timeline:
    """A timeline from outage, maintenance, unknown and degraded lists; the rest is up.

    Spans may overlap each other and anything; precedence sorts them out.
    """
    return _build(
        downtime=downtime,
        maintenance=maintenance,
        unknown=unknown,
        degraded=degraded,
        up=(),
        measured_until=measured_until,
    )


def timeline_from_states(
    state_intervals: Iterable[StateInterval],
    window: Interval,
    now: datetime | None,
    *,
    maintenance: Iterable[Interval] = (),
) -> Timeline:
    """A timeline of ``window`` from state intervals; time none of them covers is unknown.

    With ``now`` the window is measured only up to ``now`` (``measured_until``), and
    open intervals end there. ``now=None`` means the window is wholly in the past: open
    intervals run to its end. ``maintenance`` adds scheduled windows to the spans in
    state ``maintenance``. Intervals of several monitors may be given together; they
    combine by the precedence above.
    """
    if now is None:
        until = window.end
    else:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        until = min(window.end, max(now, window.start))
    measured = Interval(window.start, until)
    by_state: dict[State, list[Interval]] = {state: [] for state in State}
    for si in state_intervals:
        end = si.end if si.end is not None else max(until, si.start)
        by_state[si.state].append(Interval(si.start, end))
    spans = {state: clip(ivs, measured) for state, ivs in by_state.items()}
    covered = [iv for ivs in spans.values() for iv in ivs]
    return _build(
        downtime=spans[State.DOWN],
        maintenance=[*spans[State.MAINTENANCE], *clip(maintenance, measured)],
        unknown=[*spans[State.UNKNOWN], *subtract([measured], covered)],
        degraded=spans[State.DEGRADED],
        up=spans[State.UP],
        measured_until=until,
    )


def _seconds(span: timedelta) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return Decimal(span // _MICROSECOND) / Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Availability:
    """What a window measured: totals in the rule's unit and every kind of time.

    ``total`` and ``bad`` are exact: seconds (to the microsecond) for ``seconds``
    accounting, whole minutes for the minute rules. ``bad_spans`` are the spans that
    made ``bad``: the counted downtime, or the bad minutes. The other durations are
    always plain time inside the measured window.
    """

    window: Interval
    measured_until: datetime
    terms: AccountingTerms
    total: Decimal
    bad: Decimal
    bad_spans: tuple[Interval, ...]
    downtime: timedelta
    degraded: timedelta
    maintenance: timedelta
    unknown: timedelta
    excluded: timedelta
    removed: timedelta
    down_during_maintenance: timedelta = field(default=timedelta())

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.bad <= self.total:
            raise ValueError(f"need 0 <= bad <= total, got bad={self.bad} total={self.total}")
        if not self.window.start <= self.measured_until <= self.window.end:
            raise ValueError("measured_until must lie within the window")

    @property
    def unit(self) -> str:
        """``seconds`` or ``minutes``: the unit of ``total`` and ``bad``."""
        return "seconds" if self.terms.accounting is Accounting.SECONDS else "minutes"

    @property
    def complete(self) -> bool:
        """True when the whole window was measured (it is not cut at ``now``)."""
        return self.measured_until == self.window.end

    @property
    def elapsed(self) -> timedelta:
        """The part of the window measured so far: from its start to ``measured_until``."""
        return self.measured_until - self.window.start

    @property
    def coverage(self) -> Fraction:
        """The share of :attr:`elapsed` with evidence (not unknown); 0 when none elapsed.

        Maintenance counts as covered: it is known, whether probes ran or not.
        """
        elapsed = _us(self.elapsed)
        if elapsed == 0:
            return Fraction(0)
        return Fraction(elapsed - _us(self.unknown), elapsed)

    @property
    def good(self) -> Decimal:
        """``total - bad``."""
        return self.total - self.bad

    @property
    def bad_fraction(self) -> Fraction:
        """``bad / total`` exactly; 0 when nothing was measured."""
        if self.total == 0:
            return Fraction(0)
        return Fraction(self.bad) / Fraction(self.total)

    @property
    def ratio(self) -> Fraction:
        """Availability as an exact ratio in [0, 1]; compare this, never a rounding."""
        return 1 - self.bad_fraction

    @property
    def percent_exact(self) -> Fraction:
        """Availability in percent, exact."""
        return self.ratio * 100

    @property
    def percent(self) -> Decimal:
        """Availability in percent to 30 significant digits (for display and JSON)."""
        exact = self.percent_exact
        with localcontext() as ctx:
            ctx.prec = 30
            return Decimal(exact.numerator) / Decimal(exact.denominator)

    def percent_rounded(self, places: int = 6, rounding: str = ROUND_HALF_UP) -> Decimal:
        """Availability in percent rounded once to ``places`` decimals (display only)."""
        return quantize(self.percent_exact, places, rounding)


def _us(span: timedelta) -> int:
    return span // _MICROSECOND


def _merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] < r[1]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _touched(spans: Sequence[Interval], origin: datetime) -> list[tuple[int, int]]:
    """Minute ranges [a, b) that any of ``spans`` touches."""
    return _merge_ranges(
        (_us(iv.start - origin) // _MINUTE_US, (_us(iv.end - origin) - 1) // _MINUTE_US + 1)
        for iv in spans
    )


def _covered(spans: Sequence[Interval], origin: datetime, length_us: int) -> list[tuple[int, int]]:
    """Minute ranges [a, b) that ``spans`` cover wholly; the last minute may be partial."""
    count = -(-length_us // _MINUTE_US)
    ranges = []
    for iv in union(spans):
        lo = -(-_us(iv.start - origin) // _MINUTE_US)
        end = _us(iv.end - origin)
        hi = count if end >= length_us else end // _MINUTE_US
        ranges.append((lo, hi))
    return _merge_ranges(ranges)


def _subtract_ranges(
    ranges: list[tuple[int, int]], holes: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    out = []
    for lo, hi in ranges:
        start = lo
        for h_lo, h_hi in holes:
            if h_hi <= start or h_lo >= hi:
                continue
            if h_lo > start:
                out.append((start, h_lo))
            start = max(start, h_hi)
        if start < hi:
            out.append((start, hi))
    return out


def _intersect_ranges(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return _merge_ranges(out)


def _count(ranges: Iterable[tuple[int, int]]) -> int:
    return sum(hi - lo for lo, hi in ranges)


def compute_availability(
    timeline: Timeline,
    window: Interval,
    terms: AccountingTerms,
    exclusions: Iterable[Exclusion] = (),
) -> Availability:
    """Availability of ``window`` (cut at ``timeline.measured_until``) under ``terms``.

    The rules, including how the minute rules treat maintenance and unknown time, are
    in this module's docstring. Minutes are aligned to ``window.start``.
    """
    until = window.end
    if timeline.measured_until is not None:
        until = min(window.end, max(timeline.measured_until, window.start))
    measured = Interval(window.start, until)
    down = clip(timeline.downtime, measured)
    maint = clip(timeline.maintenance, measured)
    unknown = clip(timeline.unknown, measured)
    degraded = clip(timeline.degraded, measured)
    dim = clip(timeline.down_during_maintenance, measured)

    candidates = union([*down, *unknown]) if terms.unknown is UnknownPolicy.DOWN else down
    excluded_spans = [e.interval for e in exclusions]
    counted = subtract(candidates, excluded_spans)
    excluded = intersect(candidates, excluded_spans)
    removed_parts: list[Interval] = []
    if terms.maintenance is MaintenancePolicy.EXCLUDE_FROM_TOTAL:
        removed_parts += maint
    if terms.unknown is UnknownPolicy.EXCLUDE:
        removed_parts += unknown
    removed = union(removed_parts)

    if terms.accounting is Accounting.SECONDS:
        total_units = _seconds(measured.duration - total(removed))
        bad_units = _seconds(total(counted))
        bad_spans = tuple(counted)
    else:
        length = _us(measured.duration)
        origin = measured.start
        if terms.accounting is Accounting.MINUTES_ANY:
            bad_ranges = _touched(counted, origin)
        else:
            run = max(terms.min_downtime_minutes, 1)
            # Wholly bad once removed time is set aside, and touched by bad time.
            whole = _covered([*counted, *removed], origin, length)
            candidates_ranges = _intersect_ranges(whole, _touched(counted, origin))
            bad_ranges = [r for r in candidates_ranges if r[1] - r[0] >= run]
        # Only a minute wholly removed leaves the total: bad time touches none of those.
        out_ranges = _covered(removed, origin, length)
        total_units = Decimal(-(-length // _MINUTE_US) - _count(out_ranges))
        bad_units = Decimal(_count(bad_ranges))
        minute = timedelta(minutes=1)
        bad_spans = tuple(
            Interval(origin + lo * minute, min(origin + hi * minute, until))
            for lo, hi in bad_ranges
        )

    return Availability(
        window=window,
        measured_until=until,
        terms=terms,
        total=total_units,
        bad=bad_units,
        bad_spans=bad_spans,
        downtime=total(down) - total(intersect(down, excluded_spans)),
        degraded=total(degraded),
        maintenance=total(maint),
        unknown=total(unknown),
        excluded=total(excluded),
        removed=total(removed),
        down_during_maintenance=total(dim),
    )
