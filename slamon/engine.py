"""Ingestion: each Result updates its location's history, the monitor's state and the store.

Per (monitor, location) the engine keeps a ``LocationTimeline``
(``sla_engine.accounting.timeline``): the location's states over time, derived from
its results' own times in whatever order they arrive. A monitor's states combine its
locations' by quorum (``sla_engine.accounting.quorum``), with maintenance laid over
them, and the store holds that history. With one location, as in a single process,
the monitor simply follows it.

When a result only extends the present, the engine closes the open interval and opens
the next (``IntervalChange``). When late evidence changes the past (a result that
arrives after later ones, a location declared silent that was not), the monitor's
history is derived again from there and its stored intervals are replaced in one
transaction (``IntervalRevision``), logged and counted.

Silence is declared by arrival: a location that sends nothing for ``silent_after``
intervals is unknown from what its last check covers, provisionally, until a result
says otherwise. Each location's confirmation is checkpointed in the store
(:meth:`Engine.save`) and the engine resumes from it at start (:meth:`Engine.restore`):
a restart forgets no confirmation, and leaves no unknown where results cover the time.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.accounting.confirmation import ConfirmPolicy, Transition
from sla_engine.accounting.quorum import default_quorum
from sla_engine.accounting.timeline import (
    Derivation,
    LocationTimeline,
    Point,
    Span,
    combine,
    first_difference,
    from_us,
    normalized,
    overlay,
    state_at,
    to_us,
)
from sla_engine.time.states import State
from slamon.events import StateChange
from slamon.store.sql import IntervalChange, IntervalRevision, LocationCheckpoint

if TYPE_CHECKING:
    from probes.result import Result
    from sla_engine.time.states import StateInterval
    from slamon.store.engine_state import EngineState
    from slamon.store.writer import Writer

log = logging.getLogger("slamon.engine")


DEFAULT_INTERVAL = 60.0
_LOG_FIRST = 20
_LOG_EVERY = 1000
UNKNOWN = State.UNKNOWN


@dataclass(frozen=True, slots=True)
class LocationView:
    """What one location of a monitor says now (for the API and metrics)."""

    location: str
    state: State
    since: datetime | None
    last_result_at: datetime | None


Listener = Callable[[StateChange], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _time(point: Point) -> int:
    return point[0]


class Engine:
    """Per monitor and location: derive states, combine by quorum, write what changed.

    The engine is in-memory and single-threaded on the event loop; the writer makes it
    durable. Results for monitors it does not know are counted and dropped.

    Maintenance: :meth:`enter_maintenance` puts a monitor in state ``maintenance``
    until :meth:`leave_maintenance`; checks go on and its locations' states are still
    derived, and when the window ends the monitor is in whatever state they give then.
    """

    def __init__(
        self,
        policies: Mapping[str, ConfirmPolicy],
        writer: Writer,
        *,
        locations: Mapping[str, Sequence[str]] | None = None,
        quorum: Mapping[str, int] | None = None,
        intervals: Mapping[str, float] | None = None,
        silent_after: float = 3.0,
        clock: Callable[[], datetime] = _now,
        keep: int = 256,
    ) -> None:
        self.policies = dict(policies)
        self.writer = writer
        # A monitor without configured locations takes every location that reports.
        self.locations: dict[str, list[str]] = {
            m: list(locs) for m, locs in (locations or {}).items()
        }
        self._configured = set(self.locations)
        self._quorum = dict(quorum or {})
        self.intervals = dict(intervals or {})
        self.silent_after = silent_after
        self.clock = clock
        # Results kept per location so that a late one can still be put in its place.
        self.keep = keep
        self.timelines: dict[tuple[str, str], LocationTimeline] = {}
        self.last_received: dict[tuple[str, str], datetime] = {}
        self.latest: dict[tuple[str, str], Result] = {}
        self.state_since: dict[str, datetime] = {}
        # No history of a monitor before this is derived again (what came before the
        # engine's memory: what the store held when it started).
        self.floor: dict[str, datetime] = {}
        self.listeners: list[Listener] = []
        self.in_maintenance: set[str] = set()
        # Monitors showing the state the store last held, not yet measured since start:
        # that state, and until when it is shown (see ``last_known``).
        self.restored: set[str] = set()
        self._last_known: dict[str, tuple[State, datetime]] = {}
        # What the store holds of each monitor's history (from its floor on), as points.
        self._written: dict[str, list[Point]] = {}
        self._spans: dict[str, list[Span]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self.ingested = 0
        self.unknown_monitor = 0
        self.out_of_order = 0
        self.too_late = 0
        self.foreign_location = 0
        self.silenced = 0
        self.revised = 0
        # In a cluster: the monitors of the shards this engine holds (None: all of
        # them). Results of other monitors are not taken; their states are mirrored
        # from the store (``mirror``) for the page, the APIs and the leader's alerts.
        self.owned: set[str] | None = None
        self.not_owned = 0

    # -- reading ---------------------------------------------------------------------

    def state(self, monitor_id: str) -> State:
        """The current state of ``monitor_id`` (unknown until confirmed)."""
        written = self._written.get(monitor_id)
        return written[-1][1] if written else UNKNOWN

    def last_known(self, monitor_id: str) -> State | None:
        """The state measured before a restart, while no check has confirmed one since.

        After a clean stop the store holds the monitor as unknown from what its last
        checks covered (provisionally); the state before that is the last known one.
        It is shown as such until a result arrives, or the silence limit passes.
        """
        if monitor_id not in self.restored:
            return None
        state, until = self._last_known.get(monitor_id, (UNKNOWN, None))
        if until is not None and self.clock() >= until:
            self.restored.discard(monitor_id)
            return None
        return state

    def history(self, monitor_id: str) -> list[tuple[datetime, State]]:
        """The monitor's states as the store holds them, from the engine's floor on."""
        return [(from_us(t), s) for t, s in self._written.get(monitor_id, ())]

    def quorum(self, monitor_id: str) -> int:
        """How many locations must agree for ``monitor_id``."""
        n = len(self.locations.get(monitor_id) or ()) or 1
        return min(self._quorum.get(monitor_id) or default_quorum(n), n)

    def location_views(self, monitor_id: str) -> list[LocationView]:
        """The state of each location of ``monitor_id``."""
        out = []
        for loc in self.locations.get(monitor_id, ()):
            key = (monitor_id, loc)
            tl = self.timelines.get(key)
            latest = self.latest.get(key)
            last_at = latest.at if latest else None
            if last_at is None and tl is not None and tl.last is not None:
                last_at = from_us(tl.last)
            out.append(
                LocationView(
                    loc,
                    tl.state if tl else UNKNOWN,
                    from_us(tl.points[-1][0]) if tl and tl.points else None,
                    last_at,
                )
            )
        return out

    # -- evidence --------------------------------------------------------------------

    def ingest(
        self, result: Result, *, correction: float = 0.0, received_at: datetime | None = None
    ) -> Transition | None:
        """Take one result; return the monitor's transition it caused, if any.

        ``correction`` (seconds) moves the agent's times onto the engine's clock; the
        result is stored, and placed in its location's history, with the corrected time.
        """
        monitor_id = result.monitor_id
        policy = self.policies.get(monitor_id)
        if policy is None:
            self.unknown_monitor += 1
            return None
        if self.owned is not None and monitor_id not in self.owned:
            # Its shard was given up: neither stored nor acknowledged, its new owner
            # gets it from the shard's MQTT session.
            self.not_owned += 1
            return None
        if correction:
            result = replace(result, at=result.at + timedelta(seconds=correction))
        # Every result of a known monitor is stored (the MQTT ingest acknowledges a
        # message once its result is committed), even one that has no say below.
        self.writer.add_result(result)
        key = (monitor_id, result.location)
        tl = self.timelines.get(key)
        if tl is None:
            locs = self.locations.setdefault(monitor_id, [])
            if result.location not in locs:
                if monitor_id in self._configured:
                    self.foreign_location += 1  # not one of its locations: no say in quorum
                    return None
                locs.append(result.location)
            tl = self.timelines[key] = self._timeline(monitor_id)
        self.ingested += 1
        self.last_received[key] = received_at or self.clock()
        self._dirty.add(key)
        at = to_us(result.at)
        last = tl.live.last
        if last is not None and at <= last:
            self.out_of_order += 1
            ignored = tl.ignored
            changed = tl.add(at, result.state)
            if tl.ignored != ignored:
                self.too_late += 1  # a repeat, or older than what is kept: stored only
            elif changed is not None:
                return self._derive(monitor_id, changed, result, late=True)
        else:
            self.latest[key] = result
            if self.restored:
                self.restored.discard(monitor_id)
            changed = tl.add(at, result.state)
        if changed is None:
            return None
        return self._derive(monitor_id, changed, result)

    def tick(self, now: datetime | None = None) -> list[Transition]:
        """Declare silent the locations that sent nothing for ``silent_after`` intervals.

        Each is unknown from what its last check covers, until a result says otherwise.
        Returns the monitors' transitions it caused.
        """
        now = now or self.clock()
        changed: dict[str, int] = {}
        for key, tl in self.timelines.items():
            if tl.silenced or tl.live.confirmed is UNKNOWN:
                continue
            monitor_id, location = key
            limit = self.silent_after * self.intervals.get(monitor_id, DEFAULT_INTERVAL)
            received = self.last_received.get(key)
            if received is None or (now - received).total_seconds() < limit:
                continue
            self.silenced += 1
            self._dirty.add(key)
            t = tl.declare_silent()
            log.warning(
                "%s@%s: no result for %.0fs (%.0f intervals): location is unknown",
                monitor_id,
                location,
                (now - received).total_seconds(),
                self.silent_after,
                extra={"monitor": monitor_id, "location": location},
            )
            if t is not None:
                changed[monitor_id] = min(changed.get(monitor_id, t), t)
        out = []
        for monitor_id, t in changed.items():
            transition = self._derive(monitor_id, t, None)
            if transition is not None:
                out.append(transition)
        return out

    def enter_maintenance(self, monitor_id: str, at: datetime) -> None:
        """Put ``monitor_id`` in maintenance from ``at`` (no-op if it already is)."""
        if monitor_id not in self.policies or monitor_id in self.in_maintenance:
            return
        if self.owned is not None and monitor_id not in self.owned:
            return  # another engine's shard: that engine applies its windows
        self.in_maintenance.add(monitor_id)
        t = to_us(at)
        self._spans.setdefault(monitor_id, []).append((t, None))
        self._derive(monitor_id, t, None)

    def leave_maintenance(self, monitor_id: str, at: datetime) -> None:
        """End the maintenance of ``monitor_id`` at ``at``; its derived state resumes."""
        if monitor_id not in self.in_maintenance:
            return
        self.in_maintenance.discard(monitor_id)
        t = to_us(at)
        spans = self._spans[monitor_id]
        start, _ = spans[-1]
        spans[-1] = (start, max(t, start))
        self._derive(monitor_id, t, None)

    def stop(self, at: datetime) -> None:
        """Nothing is measured from here: every location is silent after its last check.

        Provisional, like any silence: if the engine starts again before a location's
        silence limit has passed, its next result undoes it. Maintenance ends at ``at``.
        Writes a checkpoint of every location.
        """
        changed: dict[str, int] = {}
        for (monitor_id, _loc), tl in self.timelines.items():
            t = tl.declare_silent()
            if t is not None:
                changed[monitor_id] = min(changed.get(monitor_id, t), t)
        t_stop = to_us(at)
        for monitor_id in sorted(self.in_maintenance):
            spans = self._spans[monitor_id]
            start, _ = spans[-1]
            spans[-1] = (start, max(t_stop, start))
            changed[monitor_id] = min(changed.get(monitor_id, t_stop), t_stop)
        self.in_maintenance.clear()
        for monitor_id, t in sorted(changed.items()):
            self._derive(monitor_id, t, None)
        self.save(everything=True)

    # -- deriving and writing --------------------------------------------------------

    def _timeline(
        self, monitor_id: str, start: Derivation | None = None, points: Sequence[Point] = ()
    ) -> LocationTimeline:
        interval = self.intervals.get(monitor_id, DEFAULT_INTERVAL)
        cover = max(1, round(interval * 1e6))
        return LocationTimeline(
            self.policies[monitor_id],
            cover=cover,
            silence=max(cover, round(self.silent_after * interval * 1e6)),
            keep=self.keep,
            start=start,
            points=points,
        )

    def _derive(
        self, monitor_id: str, since: int, result: Result | None, *, late: bool = False
    ) -> Transition | None:
        """Derive the monitor's history from ``since`` on again; write what changed.

        ``late``: a result older than its location's latest caused it, so what changed
        is a correction even where it only adds to the stored history.
        """
        floor = self.floor.get(monitor_id)
        if floor is not None:
            since = max(since, to_us(floor))
        timelines = self.timelines
        points = [
            tl.points if (tl := timelines.get((monitor_id, loc))) is not None else []
            for loc in self.locations.get(monitor_id) or ()
        ]
        new = combine(points, self.quorum(monitor_id), since)
        spans = self._spans.get(monitor_id)
        if spans:
            new = overlay(new, spans)
        written = self._written.setdefault(monitor_id, [])
        i = bisect_right(written, since, key=_time)
        old = [(since, written[i - 1][1] if i else UNKNOWN), *written[i:]]
        d = first_difference(old, new)
        if d is None:
            return None
        j = bisect_left(written, d, key=_time)
        before = written[j - 1][1] if j else UNKNOWN
        tail = normalized([(d, state_at(new, d)), *new[bisect_right(new, d, key=_time) :]], before)
        previous = written[-1][1] if written else UNKNOWN
        if not written or d > written[-1][0]:
            written.extend(tail)
            if late:
                self._revised(monitor_id, from_us(d), tail, result)
            return self._extended(monitor_id, previous, tail, result)
        # The past changed. From the start of the interval in force at d when that
        # interval goes on, so that the store never holds two intervals of one state
        # side by side.
        if j and (not tail or tail[0][0] != d):
            j -= 1
            tail.insert(0, written[j])
        elif not tail or tail[0][0] != d:
            tail.insert(0, (d, before))
        written[j:] = tail
        revision = IntervalRevision(
            monitor_id, from_us(tail[0][0]), tuple((from_us(t), s) for t, s in tail)
        )
        self.writer.add_change(revision)
        self._revised(monitor_id, revision.since, tail, result)
        current = written[-1][1]
        self.state_since[monitor_id] = from_us(written[-1][0])
        if current is previous:
            return None
        transition = Transition(previous, current, from_us(written[-1][0]))
        self._tell(monitor_id, transition, result)
        return transition

    def _revised(
        self, monitor_id: str, since: datetime, points: Sequence[Point], result: Result | None
    ) -> None:
        self.revised += 1
        if self.revised <= _LOG_FIRST or self.revised % _LOG_EVERY == 0:
            log.info(
                "%s: history from %s revised by late evidence: %s (%d revisions so far)",
                monitor_id,
                since.isoformat(),
                ", ".join(f"{s} from {from_us(t).isoformat()}" for t, s in points),
                self.revised,
                extra={"monitor": monitor_id, "location": result.location if result else ""},
            )

    def _extended(
        self, monitor_id: str, previous: State, tail: Sequence[Point], result: Result | None
    ) -> Transition | None:
        transition = None
        for t, state in tail:
            at = from_us(t)
            self.writer.add_change(IntervalChange(monitor_id, state, at))
            self.state_since[monitor_id] = at
            transition = Transition(previous, state, at)
            log.info(
                "%s: %s -> %s at %s",
                monitor_id,
                previous,
                state,
                at.isoformat(),
                extra={"monitor": monitor_id, "location": result.location if result else ""},
            )
            self._tell(monitor_id, transition, result)
            previous = state
        return transition

    def _tell(self, monitor_id: str, transition: Transition, result: Result | None) -> None:
        change = StateChange(
            monitor_id, transition.previous, transition.state, transition.at, result
        )
        for listener in self.listeners:
            try:
                listener(change)
            except Exception:
                log.exception("state-change listener failed", extra={"monitor": monitor_id})

    def reconfigure(
        self,
        policies: Mapping[str, ConfirmPolicy],
        *,
        locations: Mapping[str, Sequence[str]],
        quorum: Mapping[str, int],
        intervals: Mapping[str, float],
        at: datetime,
    ) -> set[str]:
        """Take a reloaded set of monitors; return the ids removed.

        A new monitor starts unknown. A removed one has its open interval closed at
        ``at`` (listeners hear it become unknown) and is forgotten. Every other monitor
        keeps its history, its since and its open interval; its policy, interval and
        quorum follow the new values for what is derived from now on (a location's
        history already confirmed keeps the timing it was confirmed with), and a
        location it no longer has loses its say.
        """
        removed = set(self.policies) - set(policies)
        for monitor_id in sorted(removed):
            self._close(monitor_id, at)
            self._forget(monitor_id, at)
        self.policies = dict(policies)
        self._quorum = dict(quorum)
        self.intervals = dict(intervals)
        for monitor_id, locs in locations.items():
            gone = set(self.locations.get(monitor_id, ())) - set(locs)
            for location in gone:
                self._forget_location(monitor_id, location)
            self.locations[monitor_id] = list(locs)
            if gone and monitor_id not in removed and self._owns(monitor_id):
                self._derive(monitor_id, to_us(at), None)  # the rest decide from now on
        self._configured = set(locations)
        return removed

    def _close(self, monitor_id: str, at: datetime) -> None:
        """End what the store holds open for ``monitor_id`` at ``at``: unknown from then."""
        previous = self.state(monitor_id)
        self.in_maintenance.discard(monitor_id)
        if previous is UNKNOWN or not self._owns(monitor_id):
            return
        written = self._written.get(monitor_id) or []
        at = max(at, from_us(written[-1][0])) if written else at
        self.writer.add_change(IntervalChange(monitor_id, UNKNOWN, at))
        self._tell(monitor_id, Transition(previous, UNKNOWN, at), None)

    def _owns(self, monitor_id: str) -> bool:
        return self.owned is None or monitor_id in self.owned

    def _forget_location(self, monitor_id: str, location: str) -> None:
        key = (monitor_id, location)
        self.timelines.pop(key, None)
        self.last_received.pop(key, None)
        self.latest.pop(key, None)
        self._dirty.discard(key)

    def _forget(self, monitor_id: str, at: datetime) -> None:
        # A monitor added again later starts from here: its earlier history stays as stored.
        self.floor[monitor_id] = at
        for location in self.locations.pop(monitor_id, ()):
            self._forget_location(monitor_id, location)
        for table in (self.state_since, self._written, self._spans, self._last_known):
            table.pop(monitor_id, None)
        self.restored.discard(monitor_id)

    # -- surviving a restart ---------------------------------------------------------

    def checkpoints(self, *, everything: bool = False) -> list[LocationCheckpoint]:
        """Where each location stands (those changed since the last call, or all)."""
        keys = list(self.timelines) if everything else list(self._dirty)
        self._dirty.clear()
        out = []
        for key in keys:
            tl = self.timelines.get(key)
            if tl is None:
                continue
            d = tl.held
            points = tl.points
            if tl.silenced and d.confirmed is not UNKNOWN:
                points = points[:-1]  # the provisional unknown
            out.append(
                LocationCheckpoint(
                    key[0],
                    key[1],
                    d.confirmed,
                    from_us(points[-1][0]) if points else None,
                    d.run,
                    d.run_length,
                    from_us(d.run_start) if d.run is not None else None,
                    from_us(d.last) if d.last is not None else None,
                    tl.silenced,
                )
            )
        return out

    def save_monitors(self, monitors: Collection[str]) -> None:
        """Queue the checkpoints of every location of ``monitors`` (a shard handed over)."""
        keys = [k for k in self.timelines if k[0] in monitors]
        dirty = self._dirty
        self._dirty = set(keys)
        try:
            rows = self.checkpoints()
        finally:
            self._dirty = dirty - set(keys)
        self.writer.add_checkpoints(rows)

    def save(self, *, everything: bool = False) -> None:
        """Queue the locations' checkpoints for the writer's next transaction."""
        self.writer.add_checkpoints(self.checkpoints(everything=everything))

    def restore(
        self,
        saved: EngineState,
        now: datetime | None = None,
        *,
        monitors: Collection[str] | None = None,
    ) -> None:
        """Resume from the store's checkpoints, the results after them, recent intervals.

        (See ``slamon.store.engine_state``.) Each monitor shows the state the store last
        held (``restored``) until a result measured since arrives; a location is silent
        only once it has sent nothing for its silence limit from now. ``monitors``: only
        these (a shard taken over in a cluster; ``saved`` holds only theirs).
        """
        now = now or self.clock()
        scope = self.policies if monitors is None else [m for m in monitors if m in self.policies]
        known_from: dict[str, int] = {}
        for c in saved.checkpoints:
            if c.monitor_id not in self.policies:
                continue
            locs = self.locations.setdefault(c.monitor_id, [])
            if c.location not in locs:
                if c.monitor_id in self._configured:
                    continue
                locs.append(c.location)
            key = (c.monitor_id, c.location)
            since = to_us(c.since) if c.since is not None else None
            tl = self._timeline(
                c.monitor_id,
                Derivation(
                    c.confirmed,
                    c.run_state,
                    c.run_length,
                    to_us(c.run_start) if c.run_start is not None else 0,
                    to_us(c.last_at) if c.last_at is not None else None,
                ),
                [(since, c.confirmed)] if since is not None and c.confirmed is not UNKNOWN else [],
            )
            if c.silenced:
                tl.declare_silent()
            self.timelines[key] = tl
            self.last_received[key] = now
            if since is not None:
                known_from[c.monitor_id] = max(known_from.get(c.monitor_id, since), since)
        for monitor_id in scope:
            self._restore_history(monitor_id, saved.intervals.get(monitor_id, []))
        # The results stored after the checkpoints (or, without one, the last ones).
        fresh: set[tuple[str, str]] = set()
        changed: dict[str, int] = {}
        for e in saved.evidence:
            if e.monitor_id not in self.policies:
                continue
            key = (e.monitor_id, e.location)
            found = self.timelines.get(key)
            if found is None:
                locs = self.locations.setdefault(e.monitor_id, [])
                if e.location not in locs:
                    if e.monitor_id in self._configured:
                        continue
                    locs.append(e.location)
                found = self.timelines[key] = self._timeline(e.monitor_id)
                fresh.add(key)
                self.last_received[key] = now
            t = found.add(to_us(e.at), e.state)
            if t is not None:
                changed[e.monitor_id] = min(changed.get(e.monitor_id, t), t)
        for monitor_id, location in fresh:
            tl = self.timelines[(monitor_id, location)]
            if tl.points:  # what it says before its first point is not known here
                t = tl.points[0][0]
                known_from[monitor_id] = max(known_from.get(monitor_id, t), t)
        horizon = to_us(saved.since) if saved.since is not None else None
        for monitor_id in scope:
            written = self._written.get(monitor_id)
            floor = known_from.get(monitor_id)
            if floor is None and written:
                floor = written[-1][0]
            if floor is not None and horizon is not None:
                floor = max(floor, horizon)
            if floor is not None:
                self.floor[monitor_id] = from_us(floor)
        for monitor_id, t in sorted(changed.items()):
            self._derive(monitor_id, t, None)
        in_scope = set(scope)
        self._dirty.update(k for k in self.timelines if k[0] in in_scope)
        for monitor_id in self.restored & in_scope:
            written = self._written[monitor_id]
            silent = [
                x.silenced
                for loc in self.locations.get(monitor_id) or ()
                if (x := self.timelines.get((monitor_id, loc))) is not None
            ]
            state = written[-1][1]
            if state is UNKNOWN and len(written) > 1 and silent and all(silent):
                state = written[-2][1]  # unknown only since the stop, provisionally
            interval = self.intervals.get(monitor_id, DEFAULT_INTERVAL)
            until = now + timedelta(seconds=max(self.silent_after, 1.0) * interval)
            self._last_known[monitor_id] = (state, until)

    # -- shards of a cluster ------------------------------------------------------------

    def adopt(self, saved: EngineState, monitors: Collection[str], now: datetime) -> None:
        """Take over ``monitors`` (a shard): their state from the store, then their results.

        What was mirrored of them is forgotten first; ``saved`` is what
        ``engine_state.load`` read for them after the shard's lease was taken.
        """
        self.drop(monitors, keep_state=False)
        if self.owned is not None:
            self.owned.update(monitors)
        self.restore(saved, now, monitors=monitors)

    def drop(self, monitors: Collection[str], *, keep_state: bool = True) -> None:
        """Give up ``monitors`` (a shard handed over): forget their locations' histories.

        Nothing is written: the shard's next owner resumes from what is stored. With
        ``keep_state`` their current state stays shown (mirrored) until the store says
        otherwise.
        """
        if self.owned is not None:
            self.owned.difference_update(monitors)
        for monitor_id in monitors:
            for location in self.locations.get(monitor_id, ()):
                self._forget_location(monitor_id, location)
            written = self._written.get(monitor_id)
            if keep_state and written:
                self._written[monitor_id] = written[-1:]
                self.state_since[monitor_id] = from_us(written[-1][0])
            else:
                self._written.pop(monitor_id, None)
                self.state_since.pop(monitor_id, None)
            for table in (self._spans, self._last_known, self.floor):
                table.pop(monitor_id, None)
            self.restored.discard(monitor_id)
            self.in_maintenance.discard(monitor_id)

    def mirror(self, monitor_id: str, state: State, since: datetime) -> None:
        """The state another engine's shard has for ``monitor_id`` (read from the store).

        Listeners hear a change as from this engine's own monitors.
        """
        if monitor_id not in self.policies or (self.owned is not None and monitor_id in self.owned):
            return
        written = self._written.get(monitor_id)
        previous = written[-1][1] if written else UNKNOWN
        if written and previous is state and written[-1][0] == to_us(since):
            return
        self._written[monitor_id] = [(to_us(since), state)]
        self.state_since[monitor_id] = since
        if previous is not state:
            self._tell(monitor_id, Transition(previous, state, since), None)

    def _restore_history(self, monitor_id: str, intervals: Sequence[StateInterval]) -> None:
        points: list[Point] = []
        spans: list[Span] = []
        for i, si in enumerate(intervals):
            start = to_us(si.start)
            end = to_us(si.end) if si.end is not None else None
            points.append((start, si.state))
            following = intervals[i + 1].start if i + 1 < len(intervals) else None
            if end is not None and (following is None or to_us(following) > end):
                points.append((end, UNKNOWN))
            if si.state is State.MAINTENANCE:
                spans.append((start, end))
        written = normalized(points)
        if not written:
            return
        self._written[monitor_id] = written
        self.state_since[monitor_id] = from_us(written[-1][0])
        self.restored.add(monitor_id)
        if spans:
            self._spans[monitor_id] = spans
            if spans[-1][1] is None:
                self.in_maintenance.add(monitor_id)

    def compact(self) -> None:
        """Forget the history no late result can change any more (memory stays bounded)."""
        for monitor_id, written in self._written.items():
            tls = [
                tl
                for loc in self.locations.get(monitor_id) or ()
                if (tl := self.timelines.get((monitor_id, loc))) is not None
            ]
            froms = [tl.revisable_from() for tl in tls]
            if not tls or any(f is None for f in froms):
                continue
            horizon = min(f for f in froms if f is not None)
            for tl in tls:
                tl.forget_before(horizon)
            i = bisect_right(written, horizon, key=_time)
            if i > 1:
                del written[: i - 1]
            spans = self._spans.get(monitor_id)
            if spans:
                spans[:] = [s for s in spans if s[1] is None or s[1] > horizon]
