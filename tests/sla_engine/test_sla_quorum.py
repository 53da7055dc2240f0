"""Quorum across locations: table-driven, with the silent-location rules spelled out."""

from __future__ import annotations

import itertools

import pytest

from sla_engine.accounting.quorum import default_quorum, quorum_state
from sla_engine.time.states import State

U, G, D, X = State.UP, State.DEGRADED, State.DOWN, State.UNKNOWN

CASES = [
    # (location states, K, monitor state, why)
    ((U,), 1, U, "one location: the monitor follows it"),
    ((D,), 1, D, "one location down"),
    ((G,), 1, G, "one location degraded"),
    ((X,), 1, X, "one silent location"),
    ((U, U, U), 2, U, "all up"),
    ((D, U, U), 2, U, "one location's own network: not an outage"),
    ((D, D, U), 2, D, "two of three confirm down"),
    ((D, D, D), 2, D, "all down"),
    ((D, G, U), 2, G, "one down and one degraded: a quorum is at least degraded"),
    ((G, G, U), 2, G, "two degraded"),
    ((D, U, X), 2, X, "the silent one decides: down or up, nobody can tell"),
    ((U, U, X), 2, U, "two up: the silent one cannot make a quorum down"),
    ((D, D, X), 2, D, "two down: the silent one cannot undo the quorum"),
    ((U, X, X), 2, X, "one voice out of three is not a quorum either way"),
    ((D, X, X), 2, X, "a lone down location is never down on its own"),
    ((X, X, X), 2, X, "all silent"),
    ((U, X), 2, U, "K = N = 2: one up is enough, a down needs both"),
    ((D, X), 2, X, "K = N = 2: a lone down is not enough"),
    ((D, U), 2, U, "K = N = 2: disagreement is up"),
    ((U, X), 1, X, "K = 1 of 2: the silent one might be down"),
    ((D, X), 1, D, "K = 1 of 2: any down location is enough"),
    ((D, D, U, U, X), 3, X, "5 locations, K = 3: the silent one decides"),
    ((D, D, D, U, X), 3, D, "5 locations, K = 3: three down"),
    ((U, U, U, D, X), 3, U, "5 locations, K = 3: at most two could be down"),
    ((G, D, U, X, X), 3, X, "5 locations, K = 3: two silent could make it degraded or down"),
]


@pytest.mark.parametrize(
    ("states", "k", "expected"),
    [c[:3] for c in CASES],
    ids=[c[3] for c in CASES],
)
def test_quorum_state(states: tuple[State, ...], k: int, expected: State) -> None:
    assert quorum_state(states, k) is expected


@pytest.mark.parametrize(("n", "k"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4)])
def test_default_quorum_is_a_strict_majority(n: int, k: int) -> None:
    assert default_quorum(n) == k


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_silence_never_makes_a_monitor_up_or_down_on_its_own(n: int) -> None:
    # Exhaustively: replacing a location's known state by unknown never turns an
    # unknown verdict into a known one, and a known verdict stays or becomes unknown.
    for k in range(1, n + 1):
        for states in itertools.product((U, G, D, X), repeat=n):
            verdict = quorum_state(states, k)
            for i, s in enumerate(states):
                if s is X:
                    continue
                silenced = (*states[:i], X, *states[i + 1 :])
                assert quorum_state(silenced, k) in (verdict, X), (states, k, i)
        assert quorum_state((X,) * n, k) is X


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="quorum"):
        quorum_state((U, U), 3)
    with pytest.raises(ValueError, match="quorum"):
        quorum_state((U,), 0)
    with pytest.raises(ValueError, match="maintenance"):
        quorum_state((State.MAINTENANCE,), 1)
    with pytest.raises(ValueError, match="location"):
        default_quorum(0)
