"""Confirming a state over consecutive checks before a monitor changes state.

A single failed check is noise; ``down_after`` failures in a row confirm an outage.
DESIGN.md's convention: the outage starts at the first failing check of the run that
confirmed it, and ends at the first successful check of the run that confirmed
recovery. So a transition carries the time of the first check of its run.

``sla_engine.accounting.timeline`` applies the policy to a location's results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sla_engine.time.states import State


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
class Transition:
    """The confirmed state changed from ``previous`` to ``state`` at ``at``."""

    previous: State
    state: State
    at: datetime
