"""One store suite, run against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from probes.result import ErrorClass, Result
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.store import migrate
from slamon.store.sql import IntervalChange, Store, hour_of
from slamon.store.writer import Writer

T0 = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)


def result(
    i: int, state: State = State.UP, monitor: str = "api", at: datetime | None = None
) -> Result:
    return Result(
        monitor_id=monitor,
        location="local",
        at=at or T0 + timedelta(seconds=10 * i),
        state=state,
        latency=0.010 + i * 0.001,
        error=None if state is State.UP else ErrorClass.HTTP_STATUS,
        detail="" if state is State.UP else "status 503",
        id=f"{monitor}-{i:06d}",
    )


async def test_migration_creates_the_tables(store: Store) -> None:
    def tables(conn):  # type: ignore[no-untyped-def]
        return set(inspect(conn).get_table_names())

    async with store.engine.connect() as conn:
        names = await conn.run_sync(tables)
    assert {"results", "state_intervals", "rollups", "alembic_version"} <= names
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert await migrate.current_revision(store.engine) == head
    await migrate.upgrade(store.engine)  # idempotent


async def test_results_round_trip_with_aware_times(store: Store) -> None:
    writer = Writer(store)
    for i in range(5):
        writer.add_result(result(i, State.DOWN if i == 3 else State.UP))
    await writer.flush()
    rows = await store.recent_results("api", limit=10)
    assert [r.id for r in rows] == [f"api-{i:06d}" for i in reversed(range(5))]
    assert rows[1].state is State.DOWN
    assert rows[1].error is ErrorClass.HTTP_STATUS
    assert rows[1].detail == "status 503"
    assert rows[0].at == T0 + timedelta(seconds=40)
    assert rows[0].at.tzinfo is not None


async def test_redelivered_results_are_stored_and_counted_once(store: Store) -> None:
    writer = Writer(store)
    for i in range(10):
        writer.add_result(result(i))
    await writer.flush()
    for i in range(5, 15):  # five seen before, five new
        writer.add_result(result(i))
    await writer.flush()
    assert await store.count_results("api") == 15
    assert writer.results_written == 15
    assert writer.results_duplicate == 5
    rollups = await store.rollups(Interval(T0, T0 + timedelta(days=1)))
    assert sum(r.checks for r in rollups) == 15


async def test_rollups_count_and_sketch_per_hour(store: Store) -> None:
    writer = Writer(store, batch_size=7)
    # 30 results spread over two hours; every fifth is down (its latency is not sketched).
    for i in range(30):
        state = State.DOWN if i % 5 == 0 else State.UP
        writer.add_result(result(i, state, at=T0 + timedelta(minutes=4 * i)))
    await writer.flush()
    rollups = {r.hour: r for r in await store.rollups(Interval(T0, T0 + timedelta(hours=3)))}
    assert set(rollups) == {T0, T0 + timedelta(hours=1)}
    first, second = rollups[T0], rollups[T0 + timedelta(hours=1)]
    assert (first.checks, first.down) == (15, 3)
    assert (second.checks, second.down) == (15, 3)
    assert first.sketch.count == 12
    p50 = first.sketch.quantile(0.5)
    assert p50 is not None
    assert 0.010 < p50 < 0.030


async def test_late_result_for_an_old_hour_merges_into_its_row(store: Store) -> None:
    writer = Writer(store)
    writer.add_result(result(1))
    await writer.flush()
    fresh = Writer(store)  # a restarted process: nothing cached
    writer.add_result(result(2))
    fresh.add_result(result(3))
    await writer.flush()
    await fresh.flush()
    [rollup] = await store.rollup_keys([("api", "local", hour_of(T0))])
    assert rollup.checks == 3


async def test_interval_changes_close_and_open(store: Store) -> None:
    writer = Writer(store)
    writer.add_change(IntervalChange("api", State.UP, T0))
    writer.add_change(IntervalChange("api", State.DOWN, T0 + timedelta(minutes=10)))
    writer.add_change(IntervalChange("api", State.UP, T0 + timedelta(minutes=25)))
    writer.add_change(IntervalChange("web", State.UP, T0))
    await writer.flush()
    got = await store.intervals(Interval(T0, T0 + timedelta(hours=1)))
    api = [(i.state, i.start, i.end) for i in got["api"]]
    assert api == [
        (State.UP, T0, T0 + timedelta(minutes=10)),
        (State.DOWN, T0 + timedelta(minutes=10), T0 + timedelta(minutes=25)),
        (State.UP, T0 + timedelta(minutes=25), None),
    ]
    only_down = await store.intervals(
        Interval(T0 + timedelta(minutes=12), T0 + timedelta(minutes=20)), ["api"]
    )
    assert [i.state for i in only_down["api"]] == [State.DOWN]


async def test_recover_closes_open_intervals_at_the_last_result(store: Store) -> None:
    writer = Writer(store)
    writer.add_change(IntervalChange("api", State.UP, T0))
    for i in range(6):
        writer.add_result(result(i))
    await writer.flush()
    changes = await store.recover()
    assert changes == [IntervalChange("api", State.UNKNOWN, T0 + timedelta(seconds=50))]
    [iv] = (await store.intervals(Interval(T0, T0 + timedelta(hours=1))))["api"]
    assert iv.end == T0 + timedelta(seconds=50)
    assert await store.recover() == []


async def test_prune_removes_only_old_results(store: Store) -> None:
    writer = Writer(store)
    for i in range(20):
        writer.add_result(result(i, at=T0 + timedelta(hours=i)))
    await writer.flush()
    removed = await store.prune_results(T0 + timedelta(hours=15), chunk=4)
    assert removed == 15
    assert await store.count_results() == 5
    # Rollups outlive raw results.
    assert len(await store.rollups(Interval(T0, T0 + timedelta(days=2)))) == 20


class FlakyStore(Store):
    """A real store whose writes fail while ``down`` is set (the database is away)."""

    down = False

    async def write_batch(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("database unreachable")
        return await super().write_batch(*args, **kwargs)


async def test_writer_keeps_results_while_the_store_is_away(store: Store, store_url: str) -> None:
    # ``store`` migrated and emptied the database; this one fails on demand.
    store = FlakyStore.from_url(store_url)
    try:
        writer = Writer(store, max_pending=50)
        store.down = True
        writer.add_change(IntervalChange("api", State.UP, T0))
        for i in range(80):
            writer.add_result(result(i))
        with contextlib.suppress(ConnectionError):
            await writer.flush()
        assert writer.pending == 51  # 50 results and the change: the oldest were dropped
        assert writer.results_dropped == 30
        store.down = False
        await writer.flush()
        assert writer.pending == 0
        assert await store.count_results() == 50
        assert (await store.recent_results("api", 100))[-1].id == "api-000030"
        assert "api" in await store.intervals(Interval(T0, T0 + timedelta(hours=1)))
    finally:
        await store.close()


class SlowStore(Store):
    """A real store whose writes wait until the test lets them go on."""

    gate: asyncio.Event
    entered: asyncio.Event  # a write is under way, waiting at the gate

    async def write_batch(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.entered.set()
        await self.gate.wait()
        return await super().write_batch(*args, **kwargs)


def slow_store(url: str) -> SlowStore:
    slow = SlowStore.from_url(url)
    slow.gate, slow.entered = asyncio.Event(), asyncio.Event()
    return slow  # type: ignore[return-value]


async def test_results_dropped_during_a_write_are_not_lost_nor_miscounted(
    store: Store, store_url: str
) -> None:
    slow = slow_store(store_url)
    try:
        writer = Writer(slow, max_pending=100, batch_size=50)
        for i in range(100):
            writer.add_result(result(i))
        write = asyncio.create_task(writer._write_once())  # the first 50, in flight
        await asyncio.wait_for(slow.entered.wait(), 5)
        for i in range(100, 130):  # 30 over the bound: the 30 oldest are in the batch
            writer.add_result(result(i))
        assert writer.results_dropped == 30
        slow.gate.set()
        await write
        await writer.flush()
        # The batch was committed: its 30 "dropped" items were written after all, and the
        # writer did not pop 30 unwritten results in their place.
        assert writer.results_dropped == 0
        assert await slow.count_results() == 130
    finally:
        await slow.close()


async def test_a_writer_cancelled_mid_commit_does_not_write_twice(
    store: Store, store_url: str
) -> None:
    slow = slow_store(store_url)
    try:
        writer = Writer(slow)
        writer.add_change(IntervalChange("api", State.UP, T0))
        writer.add_result(result(1))
        write = asyncio.create_task(writer._write_once())
        await asyncio.wait_for(slow.entered.wait(), 5)
        write.cancel()  # as at shutdown, while the commit is under way
        done, _ = await asyncio.wait({write}, timeout=5)  # the caller has given up
        assert write in done and write.cancelled()
        slow.gate.set()
        # The final flush waits for the write under way; what it committed is not
        # written again (applying the change twice would split the UP interval).
        await writer.flush()
        assert writer.pending == 0
        [iv] = (await slow.intervals(Interval(T0, T0 + timedelta(hours=1))))["api"]
        assert (iv.state, iv.start, iv.end) == (State.UP, T0, None)
        assert await slow.count_results() == 1
    finally:
        await slow.close()


async def test_rollups_count_unanswered_and_failed_assertions(store: Store) -> None:
    # The quality SLI needs them apart: no answer is availability's, a wrong one quality's.
    rows = [
        Result("api", "local", T0, State.UP, 0.01, id="ok"),
        Result("api", "local", T0, State.DOWN, 5.0, ErrorClass.TIMEOUT, "x", id="timeout"),
        Result("api", "local", T0, State.DOWN, 0.02, ErrorClass.ASSERTION, "x", id="keyword"),
        Result("api", "local", T0, State.DEGRADED, 0.02, ErrorClass.ASSERTION, "x", id="json"),
        Result("api", "local", T0, State.DEGRADED, 0.9, ErrorClass.LATENCY, "x", id="slow"),
        Result("api", "local", T0, State.DOWN, 0.02, ErrorClass.CERT_EXPIRED, "x", id="cert"),
    ]
    writer = Writer(store)
    for r in rows:
        writer.add_result(r)
    await writer.flush()
    [rollup] = await store.rollups(Interval(T0, T0 + timedelta(hours=1)))
    assert (rollup.checks, rollup.down, rollup.degraded) == (6, 3, 2)
    assert (rollup.unanswered, rollup.assertion_failed) == (1, 3)


async def test_a_batch_of_any_size_is_inserted_once_in_power_of_two_statements(
    store: Store,
) -> None:
    # 1,000 new results and 37 stored before, in one batch of 1,037: on SQLite, four
    # statements of 1,024, 8, 4 and 1 rows (one statement text per size).
    writer = Writer(store, batch_size=5000)
    for i in range(37):
        writer.add_result(result(i))
    await writer.flush()
    for i in range(1037):
        writer.add_result(result(i))
    await writer.flush()
    assert await store.count_results("api") == 1037
    assert writer.results_written == 1037
    assert writer.results_duplicate == 37
