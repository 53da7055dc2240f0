"""Half-open time intervals ``[start, end)`` and the set algebra over them.

Every function returns a sorted list of disjoint, non-empty intervals, so results
can be summed without double counting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """``[start, end)`` between two timezone-aware instants."""

    start: datetime
    end: datetime

    def __init__(self, start: datetime, end: datetime) -> None:
        # Written out rather than generated: a report builds hundreds of thousands of
        # intervals, and the generated frozen __init__ plus __post_init__ took twice
        # as long. The slots are set through their descriptors (frozen: no setattr).
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("Interval bounds must be timezone-aware")
        if end < start:
            raise ValueError(f"Interval ends before it starts: {start} > {end}")
        _set_start(self, start)
        _set_end(self, end)

    @property
    def duration(self) -> timedelta:
        """Length of the interval."""
        return self.end - self.start

    @property
    def empty(self) -> bool:
        """True when the interval contains no instant."""
        return self.end <= self.start

    def overlaps(self, other: Interval) -> bool:
        """True when the two share at least one instant."""
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Interval) -> Interval | None:
        """The common part, or None when they do not overlap."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Interval(start, end) if start < end else None


def slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """The setter of the slot ``name`` of ``cls``: for a frozen class's own __init__."""
    setter: Callable[[object, object], None] = cls.__dict__[name].__set__
    return setter


_set_start = slot_setter(Interval, "start")
_set_end = slot_setter(Interval, "end")
_start = attrgetter("start")


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping and touching intervals; drop empty ones."""
    # Sorting on the start alone is enough to merge, and much cheaper than comparing
    # (start, end) pairs; the key is read in C (attrgetter), and an input that is
    # sorted already (most are: the results of these functions) sorts in one pass.
    # An Interval is built only where a merge changes one.
    items = iter(sorted(intervals, key=_start))
    for current in items:
        if current.start < current.end:
            break
    else:
        return []
    out: list[Interval] = []
    end = current.end
    for iv in items:
        start = iv.start
        if start <= end:
            if iv.end > end:  # noqa: PLR1730 (max() is a call per interval; this is not)
                end = iv.end
        elif start < iv.end:  # an empty interval after the run adds nothing
            out.append(current if current.end == end else Interval(current.start, end))
            current, end = iv, iv.end
    out.append(current if current.end == end else Interval(current.start, end))
    return out


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """The union of ``intervals`` restricted to ``window``."""
    lo, hi = window.start, window.end
    if hi <= lo:
        return []
    # Intervals wholly outside the window cannot join two parts inside it: leave them
    # out before merging, then cut the merged runs at the window's edges.
    out = []
    for iv in union([iv for iv in intervals if iv.end > lo and iv.start < hi]):
        if lo <= iv.start and iv.end <= hi:
            out.append(iv)
        else:
            out.append(Interval(max(iv.start, lo), min(iv.end, hi)))
    return out


def subtract(intervals: Iterable[Interval], remove: Iterable[Interval]) -> list[Interval]:
    """The instants of ``intervals`` that are in none of ``remove``."""
    holes = union(remove)
    out: list[Interval] = []
    first = 0  # both lists are sorted: holes wholly before one interval precede the next
    for iv in union(intervals):
        while first < len(holes) and holes[first].end <= iv.start:
            first += 1
        start = iv.start
        for k in range(first, len(holes)):
            hole = holes[k]
            if hole.start >= iv.end:
                break
            if hole.start > start:
                out.append(Interval(start, hole.start))
            start = max(start, hole.end)
            if start >= iv.end:
                break
        if start < iv.end:
            out.append(Interval(start, iv.end))
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The instants that are in both ``a`` and ``b``."""
    left, right = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        part = left[i].intersection(right[j])
        if part is not None:
            out.append(part)
        if left[i].end <= right[j].end:
            i += 1
        else:
            j += 1
    return out


def total(intervals: Iterable[Interval]) -> timedelta:
    """Total length of the union of ``intervals`` (overlaps counted once)."""
    out = timedelta()
    for iv in union(intervals):
        out += iv.end - iv.start
    return out
