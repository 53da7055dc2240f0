"""Ingestion: each Result updates confirmation, live state, the store and listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from probes.result import Result
from sla_engine.confirmation import ConfirmPolicy, Tracker, Transition, observe
from sla_engine.states import State
from slamon.store.sql import IntervalChange
from slamon.store.writer import Writer

log = logging.getLogger("slamon.engine")


@dataclass(frozen=True, slots=True)
class StateChange:
    """A monitor's confirmed state changed; what listeners are told."""

    monitor_id: str
    previous: State
    state: State
    at: datetime
    result: Result | None


Listener = Callable[[StateChange], None]


class Engine:
    """Per monitor: confirm states, keep the latest result, write what changed.

    The engine is in-memory and single-threaded on the event loop; the writer makes it
    durable. Results for monitors it does not know are counted and dropped.

    Maintenance: :meth:`enter_maintenance` puts a monitor in state ``maintenance``
    (an interval is written and listeners are told); checks go on and confirmation
    keeps tracking the real state, but its transitions are neither written nor told.
    :meth:`leave_maintenance` writes the state confirmed by then. A transition whose
    run began inside the window starts at the window's end.
    """

    def __init__(self, policies: Mapping[str, ConfirmPolicy], writer: Writer) -> None:
        self.policies = dict(policies)
        self.writer = writer
        self.trackers: dict[str, Tracker] = {m: Tracker() for m in self.policies}
        self.latest: dict[tuple[str, str], Result] = {}
        self.state_since: dict[str, datetime] = {}
        self.listeners: list[Listener] = []
        self.in_maintenance: set[str] = set()
        self._maintenance_ended: dict[str, datetime] = {}
        self.ingested = 0
        self.unknown_monitor = 0

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

    def ingest(self, result: Result) -> Transition | None:
        """Take one result; return the confirmed transition it caused, if any."""
        policy = self.policies.get(result.monitor_id)
        if policy is None:
            self.unknown_monitor += 1
            return None
        self.ingested += 1
        self.latest[(result.monitor_id, result.location)] = result
        self.writer.add_result(result)
        tracker, transition = observe(
            self.trackers[result.monitor_id], result.state, result.at, policy
        )
        self.trackers[result.monitor_id] = tracker
        if transition is not None:
            self._changed(result.monitor_id, transition, result)
        return transition

    def _changed(self, monitor_id: str, transition: Transition, result: Result | None) -> None:
        if monitor_id in self.in_maintenance and transition.state is not State.MAINTENANCE:
            return  # confirmation tracks the real state; the window decides what is shown
        ended = self._maintenance_ended.get(monitor_id)
        if ended is not None and transition.at < ended:
            transition = Transition(transition.previous, transition.state, ended)
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
