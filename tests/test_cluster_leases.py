"""Leases in PostgreSQL: acquire, renew, expire, steal, release; fencing; an even spread."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from probes.result import Result
from sla_engine.time.states import State
from slamon.app import build_runtime
from slamon.cluster.leases import LEADER, Leases, over_share, shard_lease, target
from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.runtime import Runtime
from slamon.store import migrate
from slamon.store.sql import Fenced, IntervalChange, Store
from slamon.store.writer import Writer
from tests.brokers import unique_prefix
from tests.conftest import port_open, require

pytestmark = pytest.mark.mqtt

_TTL = 0.6  # seconds: each expiry below waits a little longer than this


@pytest.fixture
async def pg_store(fresh_pg: str) -> AsyncIterator[Store]:
    store = Store.from_url(fresh_pg)
    await migrate.upgrade(store.engine)
    try:
        yield store
    finally:
        await store.close()


async def _expire() -> None:
    await asyncio.sleep(_TTL + 0.3)


async def test_acquire_renew_expire_steal_release(pg_store: Store) -> None:
    a = Leases(pg_store.engine, "engine-a", _TTL)
    b = Leases(pg_store.engine, "engine-b", _TTL)
    name = shard_lease(3)

    first = await a.acquire(name)
    assert first is not None
    assert (first.epoch, first.reason, first.previous_owner) == (1, None, None)
    assert await b.acquire(name) is None  # held and unexpired
    assert await a.renew({name: 1}) == {name: 1}
    assert await a.acquire(name) is None  # not even its owner takes it twice

    await _expire()
    stolen = await b.acquire(name)
    assert stolen is not None
    assert (stolen.epoch, stolen.reason, stolen.previous_owner) == (2, "expired", "engine-a")
    assert stolen.free_since is not None and stolen.free_since <= stolen.now
    # The old owner learns it lost the lease: nothing renewed, and its release is refused.
    assert await a.renew({name: 1}) == {}
    assert not await a.release(name, 1)
    # Compare-and-set on the epoch too: its owner at an older epoch cannot release it.
    assert not await b.release(name, 1)

    assert await b.release(name, 2, "rebalance")
    again = await a.acquire(name)
    assert again is not None
    assert (again.epoch, again.reason, again.previous_owner) == (3, "rebalance", "engine-b")

    # The leader is a lease like the others.
    lead = await b.acquire(LEADER)
    assert lead is not None and lead.epoch == 1
    assert await a.acquire(LEADER) is None
    assert await b.renew({LEADER: 1, name: 3}) == {LEADER: 1}  # shard/3 is a's


async def test_two_engines_race_for_one_lease(pg_store: Store) -> None:
    engines = [Leases(pg_store.engine, f"engine-{i}", 5) for i in range(6)]
    got = await asyncio.gather(*(e.acquire("shard/0") for e in engines))
    winners = [g for g in got if g is not None]
    assert len(winners) == 1
    assert winners[0].epoch == 1


def _result(monitor: str, n: int) -> Result:
    return Result(
        monitor_id=monitor,
        location="oslo",
        at=datetime(2026, 12, 5, 8, 0, n, tzinfo=UTC),
        state=State.UP,
        latency=0.01,
        id=f"{monitor}-{n}-{uuid.uuid4().hex[:6]}",
    )


async def _count(store: Store, table: str) -> int:
    from sqlalchemy import text

    async with store.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_a_paused_old_owner_cannot_write(pg_store: Store) -> None:
    """Engine A held shard 0, paused past its lease; B took it: A's writes are refused."""
    old = Leases(pg_store.engine, "engine-a", _TTL)
    new = Leases(pg_store.engine, "engine-b", _TTL)
    name = shard_lease(0)
    held = await old.acquire(name)
    assert held is not None

    writer = Writer(pg_store, flush_interval=0.01)
    writer.lease_of = lambda _monitor: name
    writer.fences[name] = ("engine-a", held.epoch)
    fenced: list[frozenset[str]] = []
    writer.on_fenced = fenced.append
    settled: list[Result] = []
    writer.on_settled = settled.extend

    writer.add_result(_result("api", 1))
    await writer.flush()
    assert await _count(pg_store, "results") == 1  # while it holds the lease

    await _expire()  # A is paused (a long GC, a frozen VM) past its lease...
    taken = await new.acquire(name)
    assert taken is not None and taken.epoch == held.epoch + 1
    # ...and wakes up with work queued under the old epoch.
    writer.add_result(_result("api", 2))
    writer.add_change(IntervalChange("api", State.DOWN, datetime(2026, 12, 5, 8, 0, 2, tzinfo=UTC)))
    await writer.flush()
    assert fenced == [frozenset({name})]
    assert writer.fence_refusals == 1
    assert writer.pending == 0  # dropped, not settled: its messages go to the new owner
    assert [r.id.split("-")[1] for r in settled] == ["1"]
    assert await _count(pg_store, "results") == 1
    assert await _count(pg_store, "state_intervals") == 0
    assert name not in writer.fences

    # A write of a shard it does not hold at all is refused before the database.
    writer.add_result(_result("api", 3))
    await writer.flush()
    assert writer.fence_refusals == 2
    assert await _count(pg_store, "results") == 1


async def test_store_refuses_a_stale_epoch_in_the_transaction(pg_store: Store) -> None:
    leases = Leases(pg_store.engine, "engine-a", 5)
    got = await leases.acquire("shard/1")
    assert got is not None
    with pytest.raises(Fenced) as refused:
        await pg_store.write_batch(
            [_result("api", 1)], [], {}, [], fences={"shard/1": ("engine-a", got.epoch - 1)}
        )
    assert refused.value.names == {"shard/1"}
    await pg_store.write_batch(
        [_result("api", 1)], [], {}, [], fences={"shard/1": ("engine-a", got.epoch)}
    )
    assert await _count(pg_store, "results") == 1


def test_target_is_an_even_share() -> None:
    assert [target(16, n) for n in (0, 1, 2, 3, 4, 16, 17)] == [16, 16, 8, 6, 4, 1, 1]


@pytest.mark.parametrize(
    ("shards", "holding", "me", "gives"),
    [
        (4, {"a": 4}, "a", 0),
        (4, {"a": 4, "b": 0}, "a", 2),
        (4, {"a": 2, "b": 2, "c": 0}, "a", 1),  # 4 on 3 ends 2, 1, 1, never 2, 2, 0
        (4, {"a": 1, "b": 1, "c": 2}, "c", 0),
        (4, {"a": 2, "b": 1, "c": 1}, "a", 0),
        (16, {"a": 6, "b": 5, "c": 5}, "a", 0),
        (16, {"a": 8, "b": 8, "c": 0}, "b", 2),
    ],
    ids=["alone", "one-joins", "uneven-floor", "uneven-stable", "uneven-kept", "16-on-3", "joins"],
)
def test_over_share(shards: int, holding: dict[str, int], me: str, gives: int) -> None:
    assert over_share(shards, holding, me) == gives


# -- members in one process ------------------------------------------------------------


def _cluster_config(
    url: str, prefix: str, engine_id: str, shards: int, *, ttl: float = 30
) -> Config:
    # Members stepped by hand: a long lease, so that a slow step on a loaded machine
    # does not let a member's heartbeat lapse between the steps of the others.
    run = prefix.split("/", 1)[0]
    data: dict[str, Any] = {
        "store": {"url": url, "flush_interval": "50ms"},
        "bus": {
            "kind": "mqtt",
            "topic_prefix": prefix,
            "client_id": f"engine-{run}",
            "locations": ["oslo"],
            "session_expiry": "2m",
            "shards": shards,
        },
        "cluster": {
            "enabled": True,
            "engine_id": engine_id,
            "lease_ttl": ttl,
            "renew_every": ttl / 4,
        },
        "monitors": [
            {"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9", "interval": "1s"}
            for i in range(24)
        ],
    }
    return parse_config(data, {})


async def _rounds(members: list[Runtime], count: int = 2) -> None:
    for _ in range(count):
        for runtime in members:
            assert runtime.member is not None
            await runtime.member.step()


def _held(runtimes: list[Runtime]) -> list[int]:
    return [len(r.member.shards) for r in runtimes if r.member is not None]


async def test_shards_spread_evenly_and_move_back_when_an_engine_joins(fresh_pg: str) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    prefix = unique_prefix()
    store = Store.from_url(fresh_pg)
    await migrate.upgrade(store.engine)
    await store.close()
    runtimes: list[Runtime] = []
    try:
        for i, expected in enumerate(([6], [3, 3], [2, 2, 2])):
            runtime = build_runtime(_cluster_config(fresh_pg, prefix, f"e{i}", 6))
            assert runtime.member is not None
            runtime.member.on_lost_leadership = lambda: None  # not this test's process
            runtimes.append(runtime)
            await _rounds(runtimes)
            assert sorted(_held(runtimes)) == expected
            owners = [n for r in runtimes if r.member for n in r.member.shards]
            assert sorted(owners) == list(range(6))  # each shard once
            leaders = [r for r in runtimes if r.member and r.member.leading]
            assert len(leaders) == 1
        # Handovers by rebalancing were counted by those that took the shards.
        taken = sum(
            r.registry.get_sample_value("slamon_shard_handovers_total", {"reason": "rebalance"})
            or 0
            for r in runtimes
        )
        assert taken == 5  # 3 to the second engine, then 1 from each of two to the third

        # One leaves at once (SIGTERM): the others take its shards without waiting.
        leaving = runtimes.pop(0)
        assert leaving.member is not None
        await leaving.member.hand_over()
        await leaving.member.resign()
        await leaving.store.close()
        await _rounds(runtimes)
        assert sorted(_held(runtimes)) == [3, 3]
        assert sum(1 for r in runtimes if r.member and r.member.leading) == 1
        # Each engine's metrics say which shards it holds.
        for r in runtimes:
            assert r.member is not None
            for n in r.member.shards:
                value = r.registry.get_sample_value(
                    "slamon_shard_owner", {"shard": str(n), "engine": r.member.engine_id}
                )
                assert value == 1
    finally:
        for r in runtimes:
            if r.member is not None:
                await r.member.hand_over()
            await r.store.close()


@pytest.mark.parametrize(
    ("sections", "path", "says"),
    [
        (
            'store = {url = "sqlite+aiosqlite:///x.db"}\n'
            'bus = {kind = "mqtt", locations = ["oslo"]}\n'
            "cluster = {enabled = true}\n",
            "cluster.enabled",
            "needs PostgreSQL",
        ),
        (
            'store = {url = "postgresql+asyncpg://localhost/x"}\ncluster = {enabled = true}\n',
            "cluster.enabled",
            "needs the MQTT bus",
        ),
        (
            'store = {url = "postgresql+asyncpg://localhost/x"}\n'
            'bus = {kind = "mqtt", locations = ["oslo"]}\n'
            "cluster = {enabled = true, lease_ttl = 4, renew_every = 2}\n",
            "cluster.renew_every",
            "less than half of lease_ttl",
        ),
    ],
    ids=["sqlite", "inprocess-bus", "renew-too-slow"],
)
def test_config_errors_exit_2_naming_the_path(
    tmp_path: Path, sections: str, path: str, says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(sections)
    done = subprocess.run(
        [sys.executable, "-m", "slamon", "engine", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    line = next(x for x in done.stderr.splitlines() if path in x)
    assert says in line
    assert "Traceback" not in done.stderr


async def test_an_engine_that_cannot_renew_stops_consuming_after_the_lease_time(
    fresh_pg: str, refused_port: int
) -> None:
    """Self-fencing: with the database away past lease_ttl, every shard is dropped."""
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    store = Store.from_url(fresh_pg)
    await migrate.upgrade(store.engine)
    await store.close()
    runtime = build_runtime(_cluster_config(fresh_pg, unique_prefix(), "lonely", 3, ttl=2))
    member = runtime.member
    assert member is not None
    stepped_down: list[bool] = []
    member.on_lost_leadership = lambda: stepped_down.append(True)
    try:
        await member.step()
        assert len(member.shards) == 3 and member.leading
        assert runtime.engine.owned == {f"m{i}" for i in range(24)}
        # The database goes away (a port where nothing listens).
        gone = Store.from_url(f"postgresql+asyncpg://postgres@127.0.0.1:{refused_port}/x")
        member.leases = Leases(gone.engine, member.engine_id, member.ttl)
        task = asyncio.create_task(member.run())
        try:
            for _ in range(100):  # lease_ttl is 2 s: at most 10 s
                if not member.shards:
                    break
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await gone.close()
        assert member.shards == {}
        assert runtime.engine.owned == set()
        assert runtime.writer.fences == {}
        assert stepped_down == [True]
    finally:
        await runtime.store.close()
