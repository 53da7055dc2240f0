"""A location's history from its results' own times: any arrival order, the same history.

Each property is checked against a deliberately plain second implementation that says,
instant by instant, what the rules say (``tests.timeline_reference``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.quorum import quorum_state
from sla_engine.accounting.timeline import (
    LocationTimeline,
    Point,
    combine,
    first_difference,
    from_us,
    normalized,
    overlay,
    state_at,
    to_us,
)
from sla_engine.time.states import State
from tests.timeline_reference import (
    T0,
    S,
    breakpoints,
    location_results,
    reference_state,
    rules,
)

U, G, D, X = State.UP, State.DEGRADED, State.DOWN, State.UNKNOWN


def check_against_reference(
    tl: LocationTimeline,
    results: list[tuple[int, State]],
    policy: ConfirmPolicy,
    cover: int,
    silence: int,
    silent_end: bool,
) -> None:
    for t in breakpoints(results, cover):
        expected = reference_state(
            results, t, policy=policy, cover=cover, silence=silence, silent_end=silent_end
        )
        assert tl.state_at(t) is expected, (t - T0, tl.points)


# -- properties --------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(location_results(), rules(), st.data())
def test_any_arrival_order_gives_the_history_the_rules_give(
    results: list[tuple[int, State]], rule: tuple[ConfirmPolicy, int, int], data: st.DataObject
) -> None:
    policy, cover, silence = rule
    arrivals = data.draw(st.permutations(results))
    # Redelivered copies, anywhere after the first delivery.
    copies = data.draw(st.lists(st.sampled_from(results), max_size=4))
    for c in copies:
        at = data.draw(st.integers(arrivals.index(c) + 1, len(arrivals)))
        arrivals.insert(at, c)
    # The engine may declare the location silent between any two arrivals.
    silences = data.draw(st.sets(st.integers(0, len(arrivals))))
    tl = LocationTimeline(
        policy,
        cover=cover,
        silence=silence,
        keep=len(results),
        mark_every=data.draw(st.integers(1, 6)),
    )
    latest = None
    silent_end = False
    for i, (t, s) in enumerate(arrivals):
        if i in silences:
            tl.declare_silent()
            silent_end = silent_end or latest is not None
        tl.add(t, s)
        if latest is None or t > latest:
            latest = t
            silent_end = False
    if len(arrivals) in silences:
        tl.declare_silent()
        silent_end = True
    check_against_reference(tl, results, policy, cover, silence, silent_end)
    # The live derivation is the in-order one: a next result continues it the same way.
    in_order = LocationTimeline(policy, cover=cover, silence=silence)
    for t, s in results:
        in_order.add(t, s)
    if silent_end:
        in_order.declare_silent()
    assert tl.held == in_order.held
    assert normalized(tl.points) == normalized(in_order.points)


@settings(max_examples=200, deadline=None)
@given(location_results(max_size=60), rules(), st.integers(1, 6), st.integers(1, 4))
def test_in_order_with_a_short_memory_is_exact(
    results: list[tuple[int, State]],
    rule: tuple[ConfirmPolicy, int, int],
    keep: int,
    mark_every: int,
) -> None:
    policy, cover, silence = rule
    tl = LocationTimeline(policy, cover=cover, silence=silence, keep=keep, mark_every=mark_every)
    for t, s in results:
        tl.add(t, s)
    check_against_reference(tl, results, policy, cover, silence, False)
    assert len(tl.ats) <= 2 * keep


@settings(max_examples=300, deadline=None)
@given(location_results(max_size=60), rules(), st.integers(4, 12), st.data())
def test_results_late_by_less_than_what_is_kept_are_placed_exactly(
    results: list[tuple[int, State]],
    rule: tuple[ConfirmPolicy, int, int],
    keep: int,
    data: st.DataObject,
) -> None:
    """A short memory (folding, marks) and results each at most a few places late."""
    policy, cover, silence = rule
    arrivals = list(results)
    for i in range(len(arrivals) - 1):
        if data.draw(st.booleans()):
            j = min(len(arrivals) - 1, i + data.draw(st.integers(1, keep // 2)))
            arrivals[i], arrivals[j] = arrivals[j], arrivals[i]
    # Late by at most keep - 1 places of its location, so never older than what is kept.
    for i, (t, _) in enumerate(arrivals):
        assume(sum(1 for u, _ in arrivals[:i] if u > t) < keep)
    tl = LocationTimeline(
        policy, cover=cover, silence=silence, keep=keep, mark_every=data.draw(st.integers(1, 5))
    )
    for t, s in arrivals:
        tl.add(t, s)
    assert tl.ignored == 0
    check_against_reference(tl, results, policy, cover, silence, False)


@settings(max_examples=200, deadline=None)
@given(location_results(), rules(), st.data())
def test_add_reports_the_earliest_change(
    results: list[tuple[int, State]], rule: tuple[ConfirmPolicy, int, int], data: st.DataObject
) -> None:
    policy, cover, silence = rule
    tl = LocationTimeline(policy, cover=cover, silence=silence, keep=len(results))
    for t, s in data.draw(st.permutations(results)):
        before = list(tl.points)
        changed = tl.add(t, s)
        assert changed == first_difference(before, tl.points)


def test_a_late_result_older_than_what_is_kept_changes_nothing() -> None:
    tl = LocationTimeline(ConfirmPolicy(2, 1), cover=S, silence=3 * S, keep=2)
    for i in range(10):
        tl.add(T0 + i * S, U)
    points = list(tl.points)
    assert tl.add(T0 + 2 * S + 1, D) is None
    assert tl.points == points
    assert tl.revisable_from() == T0 + 5 * S


def test_a_replayed_spool_after_a_silence_fills_only_what_it_covers() -> None:
    """The issue's case: results stop, the location is declared silent, the agent comes
    back and publishes its spool (up to when it died), then new results."""
    tl = LocationTimeline(ConfirmPolicy(3, 2), cover=S, silence=3 * S)
    for i in range(5):
        tl.add(T0 + i * S, U)
    assert tl.declare_silent() == T0 + 5 * S
    for i in range(5, 8):  # the spool: measured before the agent was killed at 7.5 s
        tl.add(T0 + i * S, U)
    assert tl.points == [(T0, U)]  # the silence is undone: evidence up to 7 s
    for i in range(20, 23):  # new results after its restart
        tl.add(T0 + i * S, U)
    assert tl.points == [(T0, U), (T0 + 8 * S, X), (T0 + 20 * S, U)]


def test_microseconds_round_trip() -> None:
    at = datetime(2026, 11, 2, 8, 0, 0, 123457, tzinfo=UTC)
    assert from_us(to_us(at)) == at
    assert to_us(at + timedelta(microseconds=1)) == to_us(at) + 1


# -- combining locations -------------------------------------------------------------

location_points = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from([U, D, G, X])), max_size=8
).map(lambda ps: sorted({T0 + t * S: s for t, s in ps}.items()))


@settings(max_examples=300, deadline=None)
@given(st.lists(location_points, min_size=1, max_size=4), st.data())
def test_combine_is_the_quorum_at_every_instant(
    timelines: list[list[Point]], data: st.DataObject
) -> None:
    quorum = data.draw(st.integers(1, len(timelines)))
    since = T0 + data.draw(st.integers(-2, 42)) * S
    out = combine(timelines, quorum, since)
    assert out[0][0] == since
    for t in range(since, T0 + 44 * S, S // 2):
        expected = quorum_state([state_at(p, t) for p in timelines], quorum)
        assert state_at(out, t) is expected


spans = st.lists(
    st.tuples(st.integers(0, 40), st.one_of(st.none(), st.integers(1, 10))), max_size=3
).map(lambda ss: [(T0 + a * S, None if d is None else T0 + (a + d) * S) for a, d in ss])


@settings(max_examples=300, deadline=None)
@given(location_points.filter(bool), spans)
def test_overlay_puts_maintenance_over_every_span(
    points: list[Point], windows: list[tuple[int, int | None]]
) -> None:
    out = overlay(points, windows)
    for t in range(points[0][0], T0 + 52 * S, S // 2):
        inside = any(a <= t and (b is None or t < b) for a, b in windows)
        assert state_at(out, t) is (State.MAINTENANCE if inside else state_at(points, t))


def test_first_difference() -> None:
    a = [(T0, U), (T0 + 5, D)]
    assert first_difference(a, a) is None
    assert first_difference(a, [(T0, U), (T0 + 5, D), (T0 + 9, U)]) == T0 + 9
    assert first_difference(a, [(T0, U), (T0 + 7, D)]) == T0 + 5
    assert first_difference(a, [(T0, U), (T0 + 2, U), (T0 + 5, D)]) is None


def test_a_check_covers_no_longer_than_the_silence_limit() -> None:
    with pytest.raises(ValueError, match="silence limit"):
        LocationTimeline(ConfirmPolicy(), cover=2 * S, silence=S)


def test_a_check_is_up_degraded_or_down() -> None:
    tl = LocationTimeline(ConfirmPolicy(), cover=S, silence=3 * S)
    with pytest.raises(ValueError, match="up, degraded or down"):
        tl.add(T0, State.MAINTENANCE)
