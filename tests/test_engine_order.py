"""Results delivered out of order give the same stored intervals as in order.

Two engines take the same results of a two-location monitor, one in time order and
one in any order hypothesis picks (redeliveries included); both write to a real SQLite
store. The intervals stored must be the same, and what the plain reference
(``tests.timeline_reference``) says, location by location and then by quorum.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.result import Result
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.quorum import quorum_state
from sla_engine.accounting.timeline import from_us, to_us
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.engine import Engine
from slamon.store import migrate
from slamon.store.sql import Store
from slamon.store.writer import Writer
from tests.timeline_reference import T0, S, location_results, reference_state

_monitors = itertools.count()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('order')}/order.db"

    async def create() -> None:
        store = Store.from_url(url)
        await migrate.upgrade(store.engine)
        await store.close()

    asyncio.run(create())
    return url


async def stored(
    url: str, policy: ConfirmPolicy, quorum: int, arrivals: list[tuple[str, int, State]]
) -> list[tuple[State, int, int | None]]:
    """Feed ``arrivals`` (location, time, state) to a new engine; its stored intervals."""
    monitor = f"m{next(_monitors)}"
    store = Store.from_url(url)
    try:
        engine = Engine(
            {monitor: policy},
            Writer(store),
            locations={monitor: ["a", "b"]},
            quorum={monitor: quorum},
            intervals={monitor: 1.0},
            silent_after=2,
        )
        for n, (loc, t, state) in enumerate(arrivals):
            result = Result(monitor, loc, from_us(t), state, 0.1, id=f"{monitor}-{loc}-{t}")
            engine.ingest(result, received_at=from_us(T0 + n))
        await engine.writer.flush()
        window = Interval(from_us(T0 - 3600 * S), from_us(T0 + 3600 * S))
        spans = (await store.intervals(window, [monitor])).get(monitor, [])
        return [
            (i.state, to_us(i.start), to_us(i.end) if i.end is not None else None) for i in spans
        ]
    finally:
        await store.close()


def state_of(spans: list[tuple[State, int, int | None]], t: int) -> State:
    for state, start, end in spans:
        if start <= t and (end is None or t < end):
            return state
    return State.UNKNOWN


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    location_results(max_size=14),
    location_results(max_size=14),
    st.builds(ConfirmPolicy, st.integers(1, 3), st.integers(1, 3)),
    st.integers(1, 2),
    st.data(),
)
def test_any_arrival_order_stores_the_same_intervals(
    db: str,
    a: list[tuple[int, State]],
    b: list[tuple[int, State]],
    policy: ConfirmPolicy,
    quorum: int,
    data: st.DataObject,
) -> None:
    in_order = sorted([("a", t, s) for t, s in a] + [("b", t, s) for t, s in b], key=lambda r: r[1])
    arrivals = data.draw(st.permutations(in_order))
    arrivals += data.draw(st.lists(st.sampled_from(in_order), max_size=3))  # redelivered
    expected = asyncio.run(stored(db, policy, quorum, in_order))
    got = asyncio.run(stored(db, policy, quorum, arrivals))
    assert got == expected
    # And what the rules say, instant by instant (the run still going: no silence at
    # the end, and the store holds the last state open).
    cover, silence = S, 2 * S
    times = sorted({t for _, t, _ in in_order} | {t + cover for _, t, _ in in_order})
    for t in times:
        states = [
            reference_state(rs, t, policy=policy, cover=cover, silence=silence, silent_end=False)
            for rs in (a, b)
        ]
        assert state_of(got, t) is quorum_state(states, quorum), (t - T0, got)
