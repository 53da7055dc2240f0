"""A location's state over time, from its results' own times, in whatever order they came.

The rules, per location of a monitor:

- results are taken in the order of their times, not of their arrival;
- two consecutive results further apart than the silence limit split the evidence:
  the location is unknown from one interval after the earlier (what that check
  covers) until a state is confirmed again after the later;
- within a stretch of evidence a state is confirmed by ``needed`` equal checks in a
  row and holds from the first check of the run that confirmed it (DESIGN.md).

So a late, replayed or repeated result changes a location's history only where it
falls, and only by what it measured. :class:`LocationTimeline` keeps the last results
of a location so that a late one can be put in its place and the history re-derived;
:func:`combine` derives a monitor's states from its locations' by quorum, and
:func:`overlay` lays maintenance windows over them.

Times are integer microseconds since the Unix epoch (``to_us``/``from_us``): exact,
cheap to compare, and compact in an array.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.quorum import quorum_state
from sla_engine.time.states import State

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

UNKNOWN = State.UNKNOWN
_CODES = (State.UP, State.DEGRADED, State.DOWN)
_CODE = {s: i for i, s in enumerate(_CODES)}

Point = tuple[int, State]
"""From this time (microseconds) on, this state."""


def to_us(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    return (at - _EPOCH) // _US


def from_us(us: int) -> datetime:
    """The aware UTC datetime of ``to_us``'s microseconds."""
    return _EPOCH + timedelta(microseconds=us)


def state_at(points: Sequence[Point], at: int, before: State = UNKNOWN) -> State:
    """The state ``points`` give at ``at`` (``before`` ahead of the first point)."""
    i = bisect_right(points, at, key=_time)
    return points[i - 1][1] if i else before


def _time(point: Point) -> int:
    return point[0]


class Derivation:
    """Confirmation at one instant: the confirmed state and the current run of checks."""

    __slots__ = ("confirmed", "last", "run", "run_length", "run_start")

    def __init__(
        self,
        confirmed: State = UNKNOWN,
        run: State | None = None,
        run_length: int = 0,
        run_start: int = 0,
        last: int | None = None,
    ) -> None:
        self.confirmed = confirmed
        self.run = run
        self.run_length = run_length
        self.run_start = run_start
        self.last = last

    def copy(self) -> Derivation:
        """An independent copy."""
        return Derivation(self.confirmed, self.run, self.run_length, self.run_start, self.last)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Derivation):
            return NotImplemented
        return (self.confirmed, self.run, self.run_length, self.run_start, self.last) == (
            other.confirmed,
            other.run,
            other.run_length,
            other.run_start,
            other.last,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Derivation({self.confirmed}, run={self.run} x{self.run_length} "
            f"from {self.run_start}, last={self.last})"
        )


_MARK_EVERY = 32


class LocationTimeline:
    """One location of one monitor: its recent results and the states they confirm.

    ``points`` is the location's history as change points (state ``UNKNOWN`` before the
    first). The last ``keep`` to ``2 * keep`` results are kept; what came before them is
    summed up in the derivation they start from. A result older than that is too late
    to place and changes nothing (``add`` returns None; the engine counts it in
    ``ignored``). Every ``mark_every`` kept results the derivation is marked, so that a
    late result is placed by deriving again from the mark before it, not the oldest.
    """

    __slots__ = (
        "_down",
        "_every",
        "_held",
        "_marks",
        "_up",
        "ats",
        "codes",
        "cover",
        "ignored",
        "keep",
        "live",
        "points",
        "silence",
        "silenced",
    )

    def __init__(
        self,
        policy: ConfirmPolicy,
        *,
        cover: int,
        silence: int,
        keep: int = 256,
        start: Derivation | None = None,
        points: Sequence[Point] = (),
        mark_every: int = _MARK_EVERY,
    ) -> None:
        if cover <= 0 or silence < cover:
            raise ValueError("a check covers a positive time, no longer than the silence limit")
        self._up = policy.up_after
        self._down = policy.down_after
        self.cover = cover
        self.silence = silence
        self.keep = max(keep, 1)
        self._every = max(1, min(mark_every, self.keep))
        self.points: list[Point] = list(points)
        anchor = start.copy() if start is not None else Derivation()
        # _marks[k]: the derivation before ats[k * 32] and how many points came before
        # it; _marks[0] sums up the results no longer kept.
        self._marks: list[tuple[Derivation, int]] = [(anchor, len(self.points))]
        self.ats = array("q")
        self.codes = bytearray()
        self.live = anchor.copy()
        self.silenced = False
        # Results that came again, or too late to place: stored, but no evidence here.
        self.ignored = 0
        # The live derivation as it was when the location was declared silent.
        self._held: Derivation | None = None

    @property
    def last(self) -> int | None:
        """The time of the latest result, in microseconds."""
        return self.live.last

    @property
    def state(self) -> State:
        """The state now: what the last point says."""
        return self.points[-1][1] if self.points else UNKNOWN

    @property
    def held(self) -> Derivation:
        """The derivation to resume from: before a silence, if one was declared."""
        return self._held if self._held is not None else self.live

    def state_at(self, at: int) -> State:
        """The location's state at ``at``."""
        return state_at(self.points, at)

    def revisable_from(self) -> int | None:
        """The earliest time a late result can still change (None: any time)."""
        anchor = self._marks[0][0]
        if anchor.last is None:
            return None
        # A late result can complete the anchor's unconfirmed run (a state from its
        # first check on), or fill the gap after the anchor's last result.
        if anchor.run is not None and anchor.run is not anchor.confirmed:
            return min(anchor.run_start, anchor.last)
        return anchor.last

    # -- evidence ------------------------------------------------------------------

    def add(self, at: int, state: State) -> int | None:
        """Take one result; return the earliest time the location's history changed."""
        code = _CODE.get(state)
        if code is None:
            raise ValueError(f"a check observes up, degraded or down, not {state}")
        live = self.live
        last = live.last
        if last is not None and at <= last:
            return self._place(at, code)
        changed: int | None = None
        again: Point | None = None
        if self.silenced:
            # Back to the derivation before the silence: a gap longer than the silence
            # limit gives the same unknown again, a shorter one takes it back.
            held = self._held
            assert held is not None
            assert last is not None
            self.silenced = False
            self._held = None
            if held.confirmed is not UNKNOWN:
                again = self.points.pop()
                if at - last <= self.silence:
                    changed, again = again[0], None
            live = self.live = held
        ats = self.ats
        if not len(ats) % self._every and ats:
            self._marks.append((live.copy(), len(self.points)))
        ats.append(at)
        self.codes.append(code)
        points = self.points
        first = len(points)
        self._step(live, at, state, points)
        if again is not None and first < len(points) and points[first] == again:
            first += 1
        if len(points) > first:
            t = points[first][0]
            changed = t if changed is None else min(changed, t)
        if len(ats) > 2 * self.keep:
            self._fold()
        return changed

    def declare_silent(self) -> int | None:
        """The live edge went quiet: unknown from what the last check covers.

        Provisional: a result within the silence limit of the last one undoes it.
        Returns the time the history changed, if it did.
        """
        live = self.live
        if self.silenced or live.last is None:
            return None
        self.silenced = True
        self._held = live.copy()
        changed = None
        if live.confirmed is not UNKNOWN:
            changed = live.last + self.cover
            self.points.append((changed, UNKNOWN))
        self.live = Derivation(UNKNOWN, None, 0, 0, live.last)
        return changed

    def forget_before(self, at: int) -> None:
        """Drop the points before ``at`` that no re-derivation can give back.

        The state at ``at`` is kept (as the first point left, moved to no later time).
        """
        pts = self.points
        i = min(bisect_right(pts, at, key=_time), self._marks[0][1])
        if i <= 1:
            return
        del pts[: i - 1]
        self._marks = [(d, n - (i - 1)) for d, n in self._marks]

    # -- internals -----------------------------------------------------------------

    def _step(self, d: Derivation, at: int, state: State, out: list[Point]) -> None:
        last = d.last
        if last is not None and at - last > self.silence:
            if d.confirmed is not UNKNOWN:
                out.append((last + self.cover, UNKNOWN))
                d.confirmed = UNKNOWN
            d.run = None
        if state is d.run:
            d.run_length += 1
        else:
            d.run = state
            d.run_length = 1
            d.run_start = at
        d.last = at
        if state is not d.confirmed and d.run_length >= (
            self._up if state is State.UP else self._down
        ):
            d.confirmed = state
            out.append((d.run_start, state))

    def _place(self, at: int, code: int) -> int | None:
        """A result older than the latest: put it in its place and derive again."""
        anchor_last = self._marks[0][0].last
        if anchor_last is not None and at <= anchor_last:
            self.ignored += 1  # before what is kept (or a repeat of its last): too late
            return None
        ats, codes = self.ats, self.codes
        i = bisect_left(ats, at)
        if i < len(ats) and ats[i] == at:
            self.ignored += 1  # a repeat: one result per location and instant
            return None
        ats.insert(i, at)
        codes.insert(i, code)
        # From the mark before it: what came before is as it was.
        every = self._every
        k = i // every
        del self._marks[k + 1 :]
        mark, count = self._marks[k]
        old = self.points
        new = old[:count]
        d = mark.copy()
        for j in range(k * every, len(ats)):
            if j > k * every and not j % every:
                self._marks.append((d.copy(), len(new)))
            self._step(d, ats[j], _CODES[codes[j]], new)
        if self.silenced:
            self._held = d.copy()
            if d.confirmed is not UNKNOWN:
                new.append((d.last + self.cover, UNKNOWN))  # type: ignore[operator]
            d = Derivation(UNKNOWN, None, 0, 0, d.last)
        self.live = d
        self.points = new
        if len(ats) > 2 * self.keep:
            self._fold()
        before = old[count - 1][1] if count else UNKNOWN
        return first_difference(old[count:], new[count:], before)

    def _fold(self) -> None:
        """Sum the oldest kept results up into the anchor (a mark already does)."""
        n = (len(self.ats) - self.keep) // self._every
        del self._marks[:n]
        del self.ats[: n * self._every]
        del self.codes[: n * self._every]


def first_difference(
    old: Sequence[Point], new: Sequence[Point], before: State = UNKNOWN
) -> int | None:
    """The earliest time at which two histories of points say different states.

    ``before``: the state both say ahead of their first points.
    """
    old, new = normalized(old, before), normalized(new, before)
    for a, b in zip(old, new, strict=False):
        if a != b:
            return min(a[0], b[0])
    if len(old) == len(new):
        return None
    longer = old if len(old) > len(new) else new
    return longer[min(len(old), len(new))][0]


def normalized(points: Sequence[Point], before: State = UNKNOWN) -> list[Point]:
    """``points`` (in time order) without those that repeat the state in force."""
    out: list[Point] = []
    current = before
    for p in points:
        if p[1] is not current:
            out.append(p)
            current = p[1]
    return out


def combine(timelines: Sequence[Sequence[Point]], quorum: int, since: int) -> list[Point]:
    """A monitor's states from ``since`` on, combining its locations' by quorum.

    Each of ``timelines`` is one location's points. The first point returned is at
    ``since``; the next ones are where the combined state changes.
    """
    if not timelines:
        return [(since, UNKNOWN)]
    states = [state_at(pts, since) for pts in timelines]
    events: list[tuple[int, int, State]] = []
    for index, pts in enumerate(timelines):
        events.extend((t, index, s) for t, s in pts[bisect_right(pts, since, key=_time) :])
    events.sort(key=lambda e: (e[0], e[1]))
    current = quorum_state(states, quorum)
    out: list[Point] = [(since, current)]
    i, n = 0, len(events)
    while i < n:
        t = events[i][0]
        while i < n and events[i][0] == t:
            states[events[i][1]] = events[i][2]
            i += 1
        state = quorum_state(states, quorum)
        if state is not current:
            out.append((t, state))
            current = state
    return out


Span = tuple[int, int | None]
"""A maintenance window in microseconds: [start, end), end None while it lasts."""


def overlay(points: Sequence[Point], spans: Sequence[Span]) -> list[Point]:
    """``points`` (from their first time on) with maintenance over every span."""
    if not spans:
        return list(points)
    since = points[0][0]
    bounds = {since}
    bounds.update(t for t, _ in points)
    for start, end in spans:
        bounds.update(b for b in (start, end) if b is not None and b > since)
    out: list[Point] = []
    current: State | None = None
    for t in sorted(bounds):
        inside = any(s <= t and (e is None or t < e) for s, e in spans)
        state = State.MAINTENANCE if inside else state_at(points, t)
        if state is not current:
            out.append((t, state))
            current = state
    return out
