"""The states a monitor or component can be in, and spans of one state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sla_engine.time.intervals import Interval, slot_setter


class State(StrEnum):
    """A monitor's state; the order of SEVERITY is what 'worst' means."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"

    @property
    def severity(self) -> int:
        """Higher is worse; used to combine monitors into a component."""
        return _SEVERITY[self]


_SEVERITY = {
    State.UP: 0,
    State.MAINTENANCE: 1,
    State.UNKNOWN: 2,
    State.DEGRADED: 3,
    State.DOWN: 4,
}


def worst(states: list[State] | tuple[State, ...]) -> State:
    """The most severe of ``states``; UNKNOWN when there are none."""
    if not states:
        return State.UNKNOWN
    return max(states, key=lambda s: s.severity)


@dataclass(frozen=True, slots=True)
class StateInterval:
    """A half-open span ``[start, end)`` in which one monitor had one state.

    ``end`` is None while the span is still open (the monitor is in it now).
    """

    monitor_id: str
    state: State
    start: datetime
    end: datetime | None = None

    def __init__(
        self, monitor_id: str, state: State, start: datetime, end: datetime | None = None
    ) -> None:
        # Written out rather than generated (as Interval's): reports read and combine
        # hundreds of thousands of these. Frozen: the slots are set through their
        # descriptors.
        if start.tzinfo is None:
            raise ValueError("StateInterval.start must be timezone-aware")
        if end is not None:
            if end.tzinfo is None:
                raise ValueError("StateInterval.end must be timezone-aware")
            if end < start:
                raise ValueError("StateInterval.end is before its start")
        _set_monitor_id(self, monitor_id)
        _set_state(self, state)
        _set_start(self, start)
        _set_end(self, end)

    def closed_at(self, now: datetime) -> Interval:
        """The span as an Interval, an open one cut at ``now``."""
        end = self.end if self.end is not None else max(now, self.start)
        return Interval(self.start, end)


_set_monitor_id = slot_setter(StateInterval, "monitor_id")
_set_state = slot_setter(StateInterval, "state")
_set_start = slot_setter(StateInterval, "start")
_set_end = slot_setter(StateInterval, "end")
