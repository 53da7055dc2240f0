"""A monitor's state from the confirmed states of its locations, by quorum.

Each location confirms its own state (up, degraded, down) over consecutive checks; a
location that has nothing confirmed, or went silent, is unknown. The monitor is down
when at least K of its N locations are down, degraded when at least K are down or
degraded, and up when fewer than K are bad.

An unknown location is never up and never down: it could be either. So the monitor's
state is the K-th worst location state, computed twice, once as if every unknown
location were up and once as if it were down. When both agree, the silent locations
cannot change the answer and that is the state; when they differ, the monitor is
unknown. With one location (K = N = 1) the monitor simply follows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sla_engine.time.states import State

# Severity among what a location can say; unknown is handled apart.
_RANK = {State.UP: 0, State.DEGRADED: 1, State.DOWN: 2}
_BY_RANK = (State.UP, State.DEGRADED, State.DOWN)


def default_quorum(locations: int) -> int:
    """A strict majority of ``locations``: 1 of 1, 2 of 2, 2 of 3, 3 of 4, 3 of 5."""
    if locations < 1:
        raise ValueError("a monitor needs at least one location")
    return locations // 2 + 1


def _kth_worst(ranks: list[int], k: int) -> int:
    return sorted(ranks, reverse=True)[k - 1]


def quorum_state(states: Sequence[State], quorum: int) -> State:
    """Combine the confirmed states of a monitor's N locations with quorum K.

    Raises ValueError for a quorum outside ``1..N`` or a location in maintenance
    (maintenance applies to monitors and components, not to where a probe runs).
    """
    if not 1 <= quorum <= len(states):
        raise ValueError(f"quorum {quorum} is not between 1 and the {len(states)} locations")
    known: list[int] = []
    unknown = 0
    for s in states:
        if s is State.UNKNOWN:
            unknown += 1
        elif s in _RANK:
            known.append(_RANK[s])
        else:
            raise ValueError(f"a location is up, degraded, down or unknown, not {s}")
    best = _kth_worst(known + [_RANK[State.UP]] * unknown, quorum)
    worst = _kth_worst(known + [_RANK[State.DOWN]] * unknown, quorum)
    return _BY_RANK[best] if best == worst else State.UNKNOWN
