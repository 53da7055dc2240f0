"""Killed processes and the stored history: intervals come from evidence, not arrival.

Real processes (``slamon engine``, ``slamon agent`` probing real TCP targets), a
private Mosquitto and a fresh PostgreSQL database; processes are SIGKILLed. What the
engine stored is audited (tests/fleet.py) against what the agents measured: every
result an agent spooled stored once, and no stretch without results stored as up or
down, no stretch with results stored as unknown.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.intervals import Interval
from slamon.store.sql import Store
from tests.brokers import PrivateBroker, TcpProxy, unique_prefix
from tests.fleet import (
    Fleet,
    MonitorSetup,
    TcpTarget,
    audit,
    describe,
    spool_count,
    stored_count,
    wait_until,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.mqtt, pytest.mark.postgres]

SILENT_AFTER = 3  # intervals of 1 s


def monitors(per_group: int, up_port: int, refused_port: int) -> list[dict[str, Any]]:
    """Per group (at a only, at b only, at both), tcp monitors; every fifth refused."""
    out = []
    for group, locations in (("a", ["a"]), ("b", ["b"]), ("ab", ["a", "b"])):
        for i in range(per_group):
            port = refused_port if i % 5 == 4 else up_port
            out.append(
                {
                    "id": f"{group}{i:03d}",
                    "type": "tcp",
                    "target": f"127.0.0.1:{port}",
                    "interval": "1s",
                    "timeout": "1s",
                    "locations": locations,
                }
            )
    return out


def sections(store_url: str, broker_port: int) -> dict[str, Any]:
    run = unique_prefix().split("/")[0]
    return {
        "store": {"url": store_url, "flush_interval": "100ms"},
        "confirmation": {"down_after": 2, "up_after": 2},
        "bus": {
            "kind": "mqtt",
            "port": broker_port,
            "topic_prefix": f"{run}/v1",
            "client_id": f"engine-{run}",
            "locations": ["a", "b"],
            "session_expiry": "5m",
            "silent_after": SILENT_AFTER,
        },
        "agent": {"client_id": f"agent-{run}-{{location}}", "spool_max": 1_000_000},
    }


def setups(mons: list[dict[str, Any]]) -> list[MonitorSetup]:
    return [
        MonitorSetup(
            m["id"],
            tuple(m["locations"]),
            len(m["locations"]) // 2 + 1,
            1.0,
            ConfirmPolicy(down_after=2, up_after=2),
        )
        for m in mons
    ]


def groups(mons: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"at a": [], "at b": [], "at a and b": []}
    for m in mons:
        out[{"a": "at a", "b": "at b", "ab": "at a and b"}[m["id"].rstrip("0123456789")]].append(
            m["id"]
        )
    return out


async def all_confirmed(fleet: Fleet, count: int) -> bool:
    """Whether the engine's API shows every monitor up or down."""
    import aiohttp

    if fleet.http_port is None:
        return False
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{fleet.http_port}/api/v1/monitors") as resp,
        ):
            body = await resp.json()
    except (aiohttp.ClientError, OSError, ValueError):
        return False
    states = [m["state"] for m in body["monitors"]]
    return len(states) == count and all(s in ("up", "down") for s in states)


async def until_confirmed(fleet: Fleet, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await all_confirmed(fleet, count):
        assert time.monotonic() < deadline, "monitors not confirmed in time"
        await asyncio.sleep(0.2)


async def drained(store: Store) -> None:
    """Wait until the engine has stored what the (stopped) agents published."""
    before = -2
    for _ in range(120):
        now = await stored_count(store)
        if now == before:
            return
        before = now
        await asyncio.sleep(1.0)
    raise AssertionError("the engine is still storing results after 2 minutes")


async def test_an_agent_killed_with_a_full_spool_leaves_unknown_the_time_it_was_dead(
    private_broker: PrivateBroker, fresh_pg: str, tmp_path: Path, refused_port: int
) -> None:
    target = TcpTarget()
    await target.start()
    mons = monitors(10, target.port, refused_port)
    cfg = sections(fresh_pg, private_broker.port)
    config_path = write_config(tmp_path / "engine.toml", cfg, mons)
    # Agent a reaches the broker through a proxy that the test cuts: its spool fills.
    proxy = TcpProxy("127.0.0.1", private_broker.port)
    await proxy.start()
    cfg_a = {**cfg, "bus": {**cfg["bus"], "port": proxy.port}}
    fleet = Fleet(tmp_path, config_path)
    store = Store.from_url(fresh_pg)
    try:
        fleet.start_engine()
        await fleet.engine_connected()
        fleet.start_agent("b")
        agent_a = write_config(tmp_path / "agent-a.toml", cfg_a, mons)
        fleet.start_agent("a", agent_a)
        await until_confirmed(fleet, len(mons))
        window_start = datetime.now(UTC)
        await asyncio.sleep(3)

        await proxy.cut()  # agent a probes on, into its spool
        await wait_until(lambda: spool_count(fleet.spool("a")) >= 40, 30)
        fleet.kill_agent("a")
        killed_at = datetime.now(UTC)
        assert spool_count(fleet.spool("a")) >= 40  # what it measured and could not send
        await asyncio.sleep(8)  # dead for 8 s, longer than the 3 s silence limit
        await proxy.restore()
        restarted_at = datetime.now(UTC)
        fleet.start_agent("a", agent_a)
        await asyncio.sleep(8)
        window_end = datetime.now(UTC)
        # The last results an agent spools before it stops are never sent: stop well
        # after the window, so that every result in it was sent.
        await asyncio.sleep(2)
        for loc in ("a", "b"):
            fleet.stop_agent(loc)
        await drained(store)
        fleet.stop_engine()

        result = await audit(
            fresh_pg,
            setups(mons),
            [fleet.spool("a"), fleet.spool("b")],
            silent_after=SILENT_AFTER,
            window=Interval(window_start, window_end),
        )
        report = "\n".join(describe(result, groups(mons)))
        assert (result.lost, result.duplicated, result.unexpected) == (0, 0, 0), report
        assert result.total("nodata_as_known") == 0, report  # never up or down
        assert result.total("unknown_with_data") == 0, report
        assert result.total("disagree") == 0, report
        # Agent b stayed up: none of its monitors is unknown (unless b itself stalled
        # for longer than the silence limit, which the results would show).
        at_b = groups(mons)["at b"]
        if not any(result.silences.get(m) for m in at_b):
            assert result.total("unknown", at_b) == 0, report
        # At a only: one unknown stretch, from what a's last check before the kill
        # covered to its first check after the restart: the time it was dead.
        at_a = groups(mons)["at a"]
        history = await store.intervals(Interval(window_start, window_end), at_a)
        second = timedelta(seconds=1)
        for m in at_a:
            times = sorted(r.at for r in await store.recent_results(m, 1000))
            last_before = max(t for t in times if t <= killed_at)
            first_after = min(t for t in times if t >= restarted_at)
            # It measured into its spool until it was killed; all of that is stored.
            assert killed_at - 3 * second <= last_before, (m, killed_at, last_before)
            spans = history[m]
            unknown = [
                (x.end, y.start)
                for x, y in itertools.pairwise(spans)
                if x.end != y.start and x.end is not None and x.end < restarted_at < y.start
            ]
            assert unknown == [(last_before + second, first_after)], (m, spans, report)
            assert first_after - last_before - second >= restarted_at - killed_at - 1.5 * second
        # The engine said it took the provisional unknown back as the spool arrived.
        assert "revised by late evidence" in fleet.engine_log.read_text()
    finally:
        fleet.stop_all()
        await proxy.close()
        await target.close()
        await store.close()


async def test_an_engine_killed_under_load_leaves_no_unknown_where_agents_measured(
    private_broker: PrivateBroker, fresh_pg: str, tmp_path: Path, refused_port: int
) -> None:
    target = TcpTarget()
    await target.start()
    mons = monitors(40, target.port, refused_port)
    config_path = write_config(
        tmp_path / "engine.toml", sections(fresh_pg, private_broker.port), mons
    )
    fleet = Fleet(tmp_path, config_path)
    store = Store.from_url(fresh_pg)
    try:
        fleet.start_engine()
        await fleet.engine_connected()
        for loc in ("a", "b"):
            fleet.start_agent(loc)
        await until_confirmed(fleet, len(mons))
        window_start = datetime.now(UTC)
        for _ in range(2):
            await asyncio.sleep(6)  # > one checkpoint period: results stored after it
            fleet.kill_engine()
            await asyncio.sleep(1)
            fleet.start_engine()
            await fleet.engine_connected()
        await until_confirmed(fleet, len(mons))
        await asyncio.sleep(4)
        window_end = datetime.now(UTC)
        # The last results an agent spools before it stops are never sent: stop well
        # after the window, so that every result in it was sent.
        await asyncio.sleep(2)
        for loc in ("a", "b"):
            fleet.stop_agent(loc)
        await drained(store)
        fleet.stop_engine()

        result = await audit(
            fresh_pg,
            setups(mons),
            [fleet.spool("a"), fleet.spool("b")],
            silent_after=SILENT_AFTER,
            window=Interval(window_start, window_end),
        )
        report = "\n".join(describe(result, groups(mons)))
        assert (result.lost, result.duplicated, result.unexpected) == (0, 0, 0), report
        # Every agent stayed up: nothing is unknown where they measured, and nothing at
        # all unless an agent stalled for longer than the silence limit.
        assert result.total("unknown_with_data") == 0, report
        if not result.silences:
            assert result.total("unknown") == 0, report
        assert result.total("nodata_as_known") == 0, report
        assert result.total("disagree") == 0, report
        assert fleet.engine_log.read_text().count("resumed") >= 2
    finally:
        fleet.stop_all()
        await target.close()
        await store.close()
