"""A component's state from its monitors' states: the worst one, or a quorum."""

from __future__ import annotations

from collections.abc import Sequence

from sla_engine.states import State, worst


def component_state(states: Sequence[State], quorum: int | None = None) -> State:
    """Combine monitor states into the state the public sees for a component.

    Without a quorum the component follows its worst monitor. With ``quorum`` K it is
    down only when at least K monitors are down, degraded when at least K are down or
    degraded (or fewer are down but some are), and in maintenance when all monitors
    are. Unknown monitors never make a component down or up on their own.
    """
    if not states:
        return State.UNKNOWN
    if quorum is None:
        return worst(tuple(states))
    if quorum < 1:
        raise ValueError("quorum must be at least 1")
    down = sum(s is State.DOWN for s in states)
    bad = down + sum(s is State.DEGRADED for s in states)
    if down >= quorum:
        return State.DOWN
    if bad > 0:
        return State.DEGRADED
    if all(s is State.MAINTENANCE for s in states):
        return State.MAINTENANCE
    if any(s is State.UP for s in states):
        return State.UP
    if any(s is State.MAINTENANCE for s in states):
        return State.MAINTENANCE
    return State.UNKNOWN
