"""Ingestion: each Result updates confirmation, live state, the store and listeners.

Per (monitor, location) the engine confirms a state over consecutive checks; the
monitor's state combines its locations by quorum (``sla_engine.accounting.quorum``). A location
that reports nothing for ``silent_after`` intervals becomes unknown. With one location,
as in a single process, the monitor simply follows it.

Intervals never go backwards: a monitor's transitions are stamped no earlier than its
previous one (or the end of what the store already holds), whatever order results
arrive in and however an agent's clock is set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.accounting.confirmation import ConfirmPolicy, Tracker, Transition, observe
from sla_engine.accounting.quorum import default_quorum, quorum_state
from sla_engine.time.states import State
from slamon.events import StateChange
from slamon.store.sql import IntervalChange

if TYPE_CHECKING:
    from probes.result import Result
    from slamon.store.writer import Writer

log = logging.getLogger("slamon.engine")


DEFAULT_INTERVAL = 60.0


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


class Engine:
    """Per monitor and location: confirm states, combine by quorum, write what changed.

    The engine is in-memory and single-threaded on the event loop; the writer makes it
    durable. Results for monitors it does not know are counted and dropped.

    Maintenance: :meth:`enter_maintenance` puts a monitor in state ``maintenance``
    (an interval is written and listeners are told); checks go on and confirmation
    keeps tracking the real state, but its transitions are neither written nor told.
    :meth:`leave_maintenance` writes the state confirmed by then. A transition whose
    run began inside the window starts at the window's end.
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
        # The combined state per monitor (``confirmed``; the rest is unused).
        self.trackers: dict[str, Tracker] = {m: Tracker() for m in self.policies}
        self.location_trackers: dict[tuple[str, str], Tracker] = {}
        self.location_since: dict[tuple[str, str], datetime] = {}
        self.last_received: dict[tuple[str, str], datetime] = {}
        self.latest: dict[tuple[str, str], Result] = {}
        self.state_since: dict[str, datetime] = {}
        # No transition of a monitor is stamped before this (see the module docstring).
        self.floor: dict[str, datetime] = {}
        self.listeners: list[Listener] = []
        self.in_maintenance: set[str] = set()
        self._maintenance_ended: dict[str, datetime] = {}
        self.ingested = 0
        self.unknown_monitor = 0
        self.out_of_order = 0
        self.foreign_location = 0
        self.silenced = 0

    def state(self, monitor_id: str) -> State:
        """The confirmed state of ``monitor_id`` (unknown until confirmed)."""
        if monitor_id in self.in_maintenance:
            return State.MAINTENANCE
        tracker = self.trackers.get(monitor_id)
        return tracker.confirmed if tracker else State.UNKNOWN

    def enter_maintenance(self, monitor_id: str, at: datetime) -> None:
        """Put ``monitor_id`` in maintenance from ``at`` (no-op if it already is)."""
        if monitor_id not in self.trackers or monitor_id in self.in_maintenance:
            return
        previous = self.state(monitor_id)
        self.in_maintenance.add(monitor_id)
        self._changed(monitor_id, Transition(previous, State.MAINTENANCE, at), None)

    def leave_maintenance(self, monitor_id: str, at: datetime) -> None:
        """End the maintenance of ``monitor_id`` at ``at``; its confirmed state resumes."""
        if monitor_id not in self.in_maintenance:
            return
        self.in_maintenance.discard(monitor_id)
        self._maintenance_ended[monitor_id] = at
        state = self.trackers[monitor_id].confirmed
        self._changed(monitor_id, Transition(State.MAINTENANCE, state, at), None)

    def quorum(self, monitor_id: str) -> int:
        """How many locations must agree for ``monitor_id``."""
        n = len(self.locations.get(monitor_id) or ()) or 1
        return min(self._quorum.get(monitor_id) or default_quorum(n), n)

    def location_views(self, monitor_id: str) -> list[LocationView]:
        """The state of each location of ``monitor_id``."""
        out = []
        for loc in self.locations.get(monitor_id, ()):
            key = (monitor_id, loc)
            tracker = self.location_trackers.get(key)
            latest = self.latest.get(key)
            out.append(
                LocationView(
                    loc,
                    tracker.confirmed if tracker else State.UNKNOWN,
                    self.location_since.get(key),
                    latest.at if latest else None,
                )
            )
        return out

    def ingest(
        self, result: Result, *, correction: float = 0.0, received_at: datetime | None = None
    ) -> Transition | None:
        """Take one result; return the monitor's transition it caused, if any.

        ``correction`` (seconds) moves the agent's times onto the engine's clock; the
        result is stored with the corrected time. Results are ordered per location by
        the agent's own times, so a duplicate or a late result never feeds confirmation.
        """
        monitor_id, location = result.monitor_id, result.location
        policy = self.policies.get(monitor_id)
        if policy is None:
            self.unknown_monitor += 1
            return None
        agent_at = result.at
        if correction:
            result = replace(result, at=agent_at + timedelta(seconds=correction))
        # Every result of a known monitor is stored (the MQTT ingest acknowledges a
        # message once its result is committed), even one that has no say below.
        self.writer.add_result(result)
        locs = self.locations.setdefault(monitor_id, [])
        if location not in locs:
            if monitor_id in self._configured:
                self.foreign_location += 1  # not one of its locations: no say in quorum
                return None
            locs.append(location)
        self.ingested += 1
        key = (monitor_id, location)
        self.latest[key] = result
        self.last_received[key] = received_at or self.clock()
        tracker = self.location_trackers.get(key) or Tracker()
        if tracker.last_at is not None and agent_at <= tracker.last_at:
            self.out_of_order += 1  # stored (the store dedups ids), not confirmed again
            return None
        tracker, transition = observe(tracker, result.state, agent_at, policy)
        self.location_trackers[key] = tracker
        if transition is None:
            return None
        at = transition.at + timedelta(seconds=correction)
        self.location_since[key] = at
        log.debug(
            "%s@%s: %s -> %s",
            monitor_id,
            location,
            transition.previous,
            transition.state,
            extra={"monitor": monitor_id, "location": location},
        )
        return self._combine(monitor_id, at, result)

    def tick(self, now: datetime | None = None) -> list[Transition]:
        """Make locations that went silent unknown; return the transitions it caused."""
        now = now or self.clock()
        out = []
        for key, tracker in list(self.location_trackers.items()):
            if tracker.confirmed is State.UNKNOWN:
                continue
            monitor_id, location = key
            interval = self.intervals.get(monitor_id, DEFAULT_INTERVAL)
            received = self.last_received.get(key)
            if received is None or now - received < timedelta(seconds=self.silent_after * interval):
                continue
            self.silenced += 1
            # Keep last_at: a late copy of an old result must not count as news.
            self.location_trackers[key] = Tracker(last_at=tracker.last_at)
            latest = self.latest.get(key)
            at = latest.at + timedelta(seconds=interval) if latest else received
            self.location_since[key] = at
            log.warning(
                "%s@%s: no result for %.0fs (%.0f intervals): location is unknown",
                monitor_id,
                location,
                (now - received).total_seconds(),
                self.silent_after,
                extra={"monitor": monitor_id, "location": location},
            )
            transition = self._combine(monitor_id, at, None)
            if transition is not None:
                out.append(transition)
        return out

    def _combine(self, monitor_id: str, at: datetime, result: Result | None) -> Transition | None:
        locs = self.locations.get(monitor_id) or []
        states = [
            (self.location_trackers.get((monitor_id, loc)) or Tracker()).confirmed for loc in locs
        ]
        new = quorum_state(states, self.quorum(monitor_id)) if states else State.UNKNOWN
        tracker = self.trackers.get(monitor_id)
        old = tracker.confirmed if tracker else State.UNKNOWN
        if new is old:
            return None
        # The combined state is tracked in maintenance too; _changed decides what is shown.
        self.trackers[monitor_id] = Tracker(confirmed=new)
        transition = Transition(old, new, at)
        self._changed(monitor_id, transition, result)
        return transition

    def _changed(self, monitor_id: str, transition: Transition, result: Result | None) -> None:
        if monitor_id in self.in_maintenance and transition.state is not State.MAINTENANCE:
            return  # confirmation tracks the real state; the window decides what is shown
        ended = self._maintenance_ended.get(monitor_id)
        if ended is not None and transition.at < ended:
            transition = Transition(transition.previous, transition.state, ended)
        floor = self.floor.get(monitor_id)
        if floor is not None and transition.at < floor:
            transition = Transition(transition.previous, transition.state, floor)
        self.floor[monitor_id] = transition.at
        self.state_since[monitor_id] = transition.at
        self.writer.add_change(IntervalChange(monitor_id, transition.state, transition.at))
        log.info(
            "%s: %s -> %s at %s",
            monitor_id,
            transition.previous,
            transition.state,
            transition.at.isoformat(),
            extra={"monitor": monitor_id, "location": result.location if result else ""},
        )
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
        keeps its confirmation state, its since and its open interval; only its
        policy, interval and quorum follow the new values, and a location it no longer
        has loses its say.
        """
        removed = set(self.policies) - set(policies)
        for monitor_id in sorted(removed):
            if monitor_id in self.in_maintenance or self.state(monitor_id) is not State.UNKNOWN:
                self.in_maintenance.discard(monitor_id)
                self._changed(
                    monitor_id, Transition(self.state(monitor_id), State.UNKNOWN, at), None
                )
            self._forget(monitor_id)
        for monitor_id in policies:
            if monitor_id not in self.trackers:
                self.trackers[monitor_id] = Tracker()
        self.policies = dict(policies)
        self._quorum = dict(quorum)
        self.intervals = dict(intervals)
        for monitor_id, locs in locations.items():
            for gone in set(self.locations.get(monitor_id, ())) - set(locs):
                self._forget_location(monitor_id, gone)
            self.locations[monitor_id] = list(locs)
        self._configured = set(locations)
        return removed

    def _forget_location(self, monitor_id: str, location: str) -> None:
        key = (monitor_id, location)
        for table in (self.location_trackers, self.location_since, self.last_received):
            table.pop(key, None)
        self.latest.pop(key, None)

    def _forget(self, monitor_id: str) -> None:
        # The floor stays: a monitor added again later must not write before it.
        for loc in self.locations.pop(monitor_id, ()):
            self._forget_location(monitor_id, loc)
        for table in (self.trackers, self.state_since, self._maintenance_ended):
            table.pop(monitor_id, None)

    def stop(self, at: datetime) -> None:
        """Close every open state at ``at``: after this, nothing is known."""
        for monitor_id in sorted(self.in_maintenance):
            self.in_maintenance.discard(monitor_id)
            self.trackers[monitor_id] = Tracker()
            self._changed(monitor_id, Transition(State.MAINTENANCE, State.UNKNOWN, at), None)
        for monitor_id, tracker in self.trackers.items():
            if tracker.confirmed is not State.UNKNOWN:
                self._changed(monitor_id, Transition(tracker.confirmed, State.UNKNOWN, at), None)
                self.trackers[monitor_id] = Tracker()
        for key, tracker in self.location_trackers.items():
            self.location_trackers[key] = Tracker(last_at=tracker.last_at)
