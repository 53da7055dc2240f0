"""A component's state from its monitors' states: the worst one, or a quorum."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter

from sla_engine.time.intervals import Interval
from sla_engine.time.states import State, StateInterval, worst


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


_time_order = itemgetter(0, 1)


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
    lo, hi = window.start, window.end
    # Events (time, order, member, state): at one instant, ends (order 0) apply before
    # starts (order 1), so back-to-back intervals hand over without a gap.
    events: list[tuple[datetime, int, int, State]] = []
    for index, name in enumerate(names):
        for si in members[name]:
            start = si.start if si.start > lo else lo
            end = si.end if si.end is not None and si.end < hi else hi
            if start < end:
                events.append((start, 1, index, si.state))
                events.append((end, 0, index, State.UNKNOWN))
    events.sort(key=_time_order)
    current = [State.UNKNOWN] * len(names)
    out: list[StateInterval] = []
    state, since = State.UNKNOWN, lo
    k, n = 0, len(events)
    while k < n:
        at = events[k][0]
        while k < n and events[k][0] == at:
            current[events[k][2]] = events[k][3]
            k += 1
        new = combine(tuple(current))
        if new is not state:
            if state is not State.UNKNOWN and since < at:
                out.append(StateInterval(target_id, state, since, at))
            state, since = new, at
    if state is not State.UNKNOWN and since < hi:
        out.append(StateInterval(target_id, state, since, hi))
    return out
