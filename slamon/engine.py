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
    """

    def __init__(self, policies: Mapping[str, ConfirmPolicy], writer: Writer) -> None:
        self.policies = dict(policies)
        self.writer = writer
        self.trackers: dict[str, Tracker] = {m: Tracker() for m in self.policies}
        self.latest: dict[tuple[str, str], Result] = {}
        self.state_since: dict[str, datetime] = {}
        self.listeners: list[Listener] = []
        self.ingested = 0
        self.unknown_monitor = 0

    def state(self, monitor_id: str) -> State:
        """The confirmed state of ``monitor_id`` (unknown until confirmed)."""
        tracker = self.trackers.get(monitor_id)
        return tracker.confirmed if tracker else State.UNKNOWN

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
        for monitor_id, tracker in self.trackers.items():
            if tracker.confirmed is not State.UNKNOWN:
                self._changed(monitor_id, Transition(tracker.confirmed, State.UNKNOWN, at), None)
                self.trackers[monitor_id] = Tracker()
