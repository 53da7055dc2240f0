"""A component's state from its monitors' states: the worst one, or a quorum."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise

from sla_engine.intervals import Interval
from sla_engine.states import State, StateInterval, worst


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


def combine_intervals(
    target_id: str,
    members: Mapping[str, Sequence[StateInterval]],
    window: Interval,
    combine: Callable[[Sequence[State]], State],
) -> list[StateInterval]:
    """The combined state over ``window`` of several members' state intervals.

    Used for a component from its monitors (``combine`` = component_state with the
    component's quorum) and for a monitor from its locations. At each instant a member
    with no interval covering it is UNKNOWN. Open intervals run to ``window.end``
    (pass a window ending at ``now``). The result is closed, clipped to ``window``,
    adjacent equal states merged; spans whose combined state is UNKNOWN are left out,
    since time no interval covers is unknown by definition.
    """
    names = sorted(members)
    spans: dict[str, list[tuple[datetime, datetime, State]]] = {}
    cuts = {window.start, window.end}
    for name in names:
        own = []
        for si in members[name]:
            end = si.end if si.end is not None else window.end
            start, end = max(si.start, window.start), min(end, window.end)
            if start < end:
                own.append((start, end, si.state))
                cuts.update((start, end))
        own.sort()
        spans[name] = own
    points = sorted(cuts)
    cursor = dict.fromkeys(names, 0)
    out: list[StateInterval] = []
    for left, right in pairwise(points):
        states = []
        for name in names:
            own, i = spans[name], cursor[name]
            while i < len(own) and own[i][1] <= left:
                i += 1
            cursor[name] = i
            states.append(own[i][2] if i < len(own) and own[i][0] <= left else State.UNKNOWN)
        state = combine(states)
        if state is State.UNKNOWN:
            continue
        if out and out[-1].state is state and out[-1].end == left:
            out[-1] = StateInterval(target_id, state, out[-1].start, right)
        else:
            out.append(StateInterval(target_id, state, left, right))
    return out
