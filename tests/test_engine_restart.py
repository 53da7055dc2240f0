"""The engine resumes from the store: no confirmation forgotten, no gap where results cover.

Each test runs one engine, "kills" it (drops it without a stop, after its writer
committed what it had), and resumes a second one from the same real database.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from probes.result import Result
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.engine import Engine
from slamon.store import engine_state
from slamon.store.sql import Store
from slamon.store.writer import Writer

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
U, D, X = State.UP, State.DOWN, State.UNKNOWN
_ids = itertools.count()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def res(monitor: str, location: str, seconds: float, state: State) -> Result:
    return Result(monitor, location, at(seconds), state, 0.1, id=f"r{next(_ids):06d}")


def engine(store: Store) -> Engine:
    return Engine(
        {"api": ConfirmPolicy(down_after=2, up_after=1), "solo": ConfirmPolicy(2, 1)},
        Writer(store),
        locations={"api": ["a", "b"], "solo": ["a"]},
        intervals={"api": 10, "solo": 10},
        silent_after=3,
        clock=lambda: T0,
    )


async def resumed(store: Store, now: float) -> Engine:
    e = engine(store)
    saved = await engine_state.load(store.engine, ["api", "solo"], since=T0 - timedelta(hours=1))
    e.restore(saved, at(now))
    return e


async def history(store: Store, monitor: str) -> list[tuple[State, datetime, datetime | None]]:
    spans = (await store.intervals(Interval(T0 - timedelta(hours=1), at(3600)), [monitor]))[monitor]
    return [(i.state, i.start, i.end) for i in spans]


async def test_a_crash_forgets_no_confirmation_and_leaves_no_gap(store: Store) -> None:
    e1 = engine(store)
    for t in (0, 10, 20):
        e1.ingest(res("api", "a", t, U))
        e1.ingest(res("api", "b", t, U))
    e1.save()
    await e1.writer.flush()
    # Stored after the checkpoint: the first failures of a run not yet confirmed.
    e1.ingest(res("api", "a", 30, D))
    e1.ingest(res("api", "b", 30, D))
    await e1.writer.flush()  # then the process is killed: no stop, no checkpoint

    e2 = await resumed(store, 35)
    assert e2.state("api") is U
    assert "api" in e2.restored  # the last known state, not yet measured again
    e2.ingest(res("api", "a", 40, D))
    e2.ingest(res("api", "b", 40, D))
    assert "api" not in e2.restored
    assert e2.state("api") is D
    await e2.writer.flush()
    # Down from the run's first failure, measured before the crash; nothing unknown.
    assert await history(store, "api") == [(U, at(0), at(30)), (D, at(30), None)]


async def test_a_location_silent_across_the_restart_is_unknown_from_its_last_check(
    store: Store,
) -> None:
    e1 = engine(store)
    for t in (0, 10, 20):
        e1.ingest(res("solo", "a", t, U))
    e1.save()
    await e1.writer.flush()

    e2 = await resumed(store, 25)
    assert e2.tick(at(50)) == []  # 25 s since the start: not silent yet
    [transition] = e2.tick(at(56))
    assert (transition.state, transition.at) == (X, at(30))
    # Its agent comes back and publishes its spool: measured up to 40 s.
    e2.ingest(res("solo", "a", 30, U))
    e2.ingest(res("solo", "a", 40, U))
    assert e2.state("solo") is U
    e2.tick(at(100))
    await e2.writer.flush()
    assert await history(store, "solo") == [(U, at(0), at(50))]
    assert e2.revised == 1


async def test_a_clean_stop_is_undone_by_a_restart_within_the_silence_limit(
    store: Store,
) -> None:
    e1 = engine(store)
    for t in (0, 10, 20):
        e1.ingest(res("solo", "a", t, U))
    e1.stop(at(22))
    await e1.writer.flush()
    assert await history(store, "solo") == [(U, at(0), at(30))]

    e2 = await resumed(store, 30)
    assert e2.state("solo") is X
    assert e2.last_known("solo") is U  # shown as such until a check says
    e2.ingest(res("solo", "a", 35, U))  # 15 s after the last check: within 30 s
    assert e2.last_known("solo") is None
    await e2.writer.flush()
    assert await history(store, "solo") == [(U, at(0), None)]


async def test_a_restart_after_the_silence_limit_keeps_the_unknown(store: Store) -> None:
    e1 = engine(store)
    for t in (0, 10, 20):
        e1.ingest(res("solo", "a", t, U))
    e1.stop(at(22))
    await e1.writer.flush()

    e2 = await resumed(store, 60)
    e2.ingest(res("solo", "a", 65, U))
    await e2.writer.flush()
    assert await history(store, "solo") == [(U, at(0), at(30)), (U, at(65), None)]


async def test_maintenance_survives_a_restart(store: Store) -> None:
    e1 = engine(store)
    e1.ingest(res("solo", "a", 0, U))
    e1.enter_maintenance("solo", at(5))
    e1.ingest(res("solo", "a", 10, D))
    e1.ingest(res("solo", "a", 20, D))
    e1.save()
    await e1.writer.flush()

    e2 = await resumed(store, 25)
    assert e2.state("solo") is State.MAINTENANCE
    assert e2.in_maintenance == {"solo"}
    e2.ingest(res("solo", "a", 30, D))
    e2.leave_maintenance("solo", at(35))
    assert e2.state("solo") is D
    await e2.writer.flush()
    assert await history(store, "solo") == [
        (U, at(0), at(5)),
        (State.MAINTENANCE, at(5), at(35)),
        (D, at(35), None),
    ]


async def test_results_replayed_at_start_are_not_stored_again(store: Store) -> None:
    e1 = engine(store)
    for t in (0, 10):
        e1.ingest(res("solo", "a", t, U))
    e1.save()
    await e1.writer.flush()
    e1.ingest(res("solo", "a", 20, U))
    await e1.writer.flush()
    e2 = await resumed(store, 25)
    assert e2.timelines[("solo", "a")].last is not None
    assert e2.writer.pending == 0
    assert await store.count_results() == 3


async def test_the_last_known_state_is_shown_at_most_a_silence_limit(store: Store) -> None:
    e1 = engine(store)
    for t in (0, 10, 20):
        e1.ingest(res("solo", "a", t, D))
    await e1.writer.flush()  # killed: the store still holds it down, open
    e2 = await resumed(store, 30)
    assert (e2.state("solo"), e2.last_known("solo")) == (D, D)
    e2.clock = lambda: at(59)
    assert e2.last_known("solo") is D
    e2.clock = lambda: at(60)  # 3 intervals of 10 s after the start: no check came
    assert e2.last_known("solo") is None
    assert e2.restored == set()


async def test_checkpoints_saved_in_slices_are_those_saved_at_once(store: Store) -> None:
    e = engine(store)
    for t in (0, 10, 20, 30):
        e.ingest(res("api", "a", t, U))
        e.ingest(res("api", "b", t, D))
        e.ingest(res("solo", "a", t, U))
    assert e.dirty == 3
    sliced = []
    for _ in range(3):
        sliced += e.checkpoints(limit=1)
    assert e.dirty == 0
    assert e.checkpoints(limit=1) == []
    at_once = e.checkpoints(everything=True)
    assert len(sliced) == 3
    assert {(c.monitor_id, c.location): c for c in sliced} == {
        (c.monitor_id, c.location): c for c in at_once
    }
