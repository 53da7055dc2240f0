"""Combining monitor states into a component's state."""

from __future__ import annotations

import pytest

from sla_engine.components import component_state
from sla_engine.states import State

U, G, D, M, X = State.UP, State.DEGRADED, State.DOWN, State.MAINTENANCE, State.UNKNOWN


@pytest.mark.parametrize(
    ("states", "quorum", "expected"),
    [
        ([], None, X),
        ([U, U], None, U),
        ([U, D], None, D),
        ([U, G], None, G),
        ([U, X], None, X),
        ([U, D, U], 2, G),
        ([D, D, U], 2, D),
        ([D, X, X], 2, G),
        ([X, X], 1, X),
        ([M, M], 1, M),
        ([U, M], 1, U),
    ],
    ids=[
        "empty-unknown",
        "all-up",
        "worst-down",
        "worst-degraded",
        "unknown-beats-up-without-quorum",
        "one-of-three-down-with-quorum-2-is-degraded",
        "two-of-three-down-with-quorum-2-is-down",
        "silent-monitors-never-make-it-down",
        "all-unknown",
        "all-maintenance",
        "partly-maintenance-is-up",
    ],
)
def test_component_state(states: list[State], quorum: int | None, expected: State) -> None:
    assert component_state(states, quorum) is expected
