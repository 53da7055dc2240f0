"""Half-open time intervals ``[start, end)`` and the set algebra over them.

Every function returns a sorted list of disjoint, non-empty intervals, so results
can be summed without double counting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """``[start, end)`` between two timezone-aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Interval bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"Interval ends before it starts: {self.start} > {self.end}")

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


def _start(iv: Interval) -> datetime:
    return iv.start


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping and touching intervals; drop empty ones."""
    items = [iv for iv in intervals if iv.start < iv.end]
    if not items:
        return []
    # Sorting on the start alone is enough to merge, and much cheaper than comparing
    # (start, end) pairs; an Interval is built only where a merge changes one.
    items.sort(key=_start)
    out: list[Interval] = []
    current = items[0]
    end = current.end
    for iv in items[1:]:
        if iv.start <= end:
            end = max(end, iv.end)
        else:
            out.append(current if current.end == end else Interval(current.start, end))
            current, end = iv, iv.end
    out.append(current if current.end == end else Interval(current.start, end))
    return out


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """The union of ``intervals`` restricted to ``window``."""
    lo, hi = window.start, window.end
    out = []
    for iv in union(intervals):
        if iv.end <= lo or iv.start >= hi:
            continue
        if lo <= iv.start and iv.end <= hi:
            out.append(iv)
        else:
            part = iv.intersection(window)
            if part is not None:
                out.append(part)
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
    return sum((iv.duration for iv in union(intervals)), timedelta())
