"""Combining monitor states into a component's state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State, StateInterval

T0 = datetime(2026, 11, 1, tzinfo=UTC)

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


def _si(member: str, state: State, start: int, end: int | None) -> StateInterval:
    return StateInterval(
        member,
        state,
        T0 + timedelta(minutes=start),
        None if end is None else T0 + timedelta(minutes=end),
    )


def test_combine_intervals_follows_the_worst_member() -> None:
    members = {
        "a": [_si("a", U, 0, 30), _si("a", D, 30, 40), _si("a", U, 40, None)],
        "b": [_si("b", U, 0, 35), _si("b", G, 35, 50), _si("b", U, 50, None)],
    }
    window = Interval(T0, T0 + timedelta(minutes=60))
    got = combine_intervals("c", members, window, component_state)
    assert [(s.state, s.start, s.end) for s in got] == [
        (U, T0, T0 + timedelta(minutes=30)),
        (D, T0 + timedelta(minutes=30), T0 + timedelta(minutes=40)),
        (G, T0 + timedelta(minutes=40), T0 + timedelta(minutes=50)),
        (U, T0 + timedelta(minutes=50), T0 + timedelta(minutes=60)),
    ]
    assert {s.monitor_id for s in got} == {"c"}


def test_combine_intervals_leaves_unknown_uncovered_and_respects_quorum() -> None:
    members = {
        "a": [_si("a", D, 0, 20)],
        "b": [_si("b", D, 10, 30)],
        "c": [_si("c", U, 0, 30)],
    }
    window = Interval(T0, T0 + timedelta(minutes=40))
    got = combine_intervals("x", members, window, lambda s: component_state(s, 2))
    assert [(s.state, s.start.minute, s.end.minute if s.end else None) for s in got] == [
        (G, 0, 10),
        (D, 10, 20),
        (G, 20, 30),
    ]


@settings(deadline=None, max_examples=80)
@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.integers(1, 30), st.sampled_from([U, G, D])), max_size=8
    )
)
def test_combining_one_member_gives_its_own_known_time(raw: list[tuple[int, int, State]]) -> None:
    # Build non-overlapping intervals for one member, then combine it alone.
    ivs, t = [], 0
    for gap, length, state in raw:
        start = t + gap
        ivs.append(_si("a", state, start, start + length))
        t = start + length
    window = Interval(T0, T0 + timedelta(minutes=max(t, 1)))
    got = combine_intervals("a", {"a": ivs}, window, component_state)
    assert sum((s.end - s.start for s in got if s.end), timedelta()) == sum(
        (s.end - s.start for s in ivs if s.end), timedelta()
    )
    for left, right in itertools.pairwise(got):
        assert left.end is not None
        assert left.end <= right.start
        assert not (left.end == right.start and left.state is right.state)
