"""Confirming a state over consecutive checks before a monitor changes state.

A single failed check is noise; ``down_after`` failures in a row confirm an outage.
DESIGN.md's convention: the outage starts at the first failing check of the run that
confirmed it, and ends at the first successful check of the run that confirmed
recovery. So a transition carries the time of the first check of its run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sla_engine.time.states import State

_OBSERVABLE = (State.UP, State.DEGRADED, State.DOWN)


@dataclass(frozen=True, slots=True)
class ConfirmPolicy:
    """How many identical checks in a row confirm a state."""

    down_after: int = 3
    up_after: int = 2

    def __post_init__(self) -> None:
        if self.down_after < 1 or self.up_after < 1:
            raise ValueError("confirmation counts must be at least 1")

    def needed(self, state: State) -> int:
        """Checks in a row that confirm ``state``; degraded confirms like down."""
        return self.up_after if state is State.UP else self.down_after


@dataclass(frozen=True, slots=True)
class Tracker:
    """What one monitor has seen: its confirmed state and the current run of checks."""

    confirmed: State = State.UNKNOWN
    run_state: State | None = None
    run_length: int = 0
    run_start: datetime | None = None
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """The confirmed state changed from ``previous`` to ``state`` at ``at``."""

    previous: State
    state: State
    at: datetime


def observe(
    tracker: Tracker, state: State, at: datetime, policy: ConfirmPolicy
) -> tuple[Tracker, Transition | None]:
    """Feed one check's state; return the new tracker and a transition, if confirmed.

    Checks older than the last one seen are ignored (a late or replayed result must
    not move an interval backwards).
    """
    if state not in _OBSERVABLE:
        raise ValueError(f"a check observes up, degraded or down, not {state}")
    if tracker.last_at is not None and at < tracker.last_at:
        return tracker, None
    if state is tracker.run_state and tracker.run_start is not None:
        run_length, run_start = tracker.run_length + 1, tracker.run_start
    else:
        run_length, run_start = 1, at
    # The constructor, not dataclasses.replace: this runs for every result ingested.
    if state is not tracker.confirmed and run_length >= policy.needed(state):
        confirmed = Tracker(state, state, run_length, run_start, at)
        return confirmed, Transition(tracker.confirmed, state, run_start)
    return Tracker(tracker.confirmed, state, run_length, run_start, at), None
