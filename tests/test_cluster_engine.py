"""Two ``slamon engine`` processes as a cluster: handover on SIGTERM, failover on SIGKILL.

Real PostgreSQL, the machine's Mosquitto (under a prefix of this test's own), an agent
process probing real targets, and a webhook sink. Checked at the end: every result the
agent spooled is stored (once: the id is the key), and the monitor made to fail
produced exactly one firing and one resolved notification, from the leader only, each
with a stable ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from slamon.store.schema import results, state_intervals
from slamon.store.sql import Store
from tests.brokers import unique_prefix
from tests.conftest import Targets, port_open, require
from tests.fleet import TcpTarget, journaled_spool, spooled_ids, write_config
from tests.slamon_process import metric

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

_SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
_SHARDS = 4
_PUSH_TOKEN = "cluster-job-token-0123456789"


@dataclass
class Sink:
    """A webhook receiver that keeps each body with its Idempotency-Key."""

    got: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            self.got.append((request.headers.get("Idempotency-Key"), await request.json()))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", record)
        return app

    def statuses(self) -> list[str]:
        return [body["status"] for _, body in self.got if body.get("event") == "alert"]


@dataclass
class EngineProcess:
    """One ``slamon engine`` process and its log."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_start: int
    port: int = 0

    @classmethod
    async def start(cls, name: str, config: Path, log_path: Path) -> EngineProcess:
        start = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "slamon", "engine", "-c", str(config), "--port", "0"],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        me = cls(name, proc, log_path, start)
        for _ in range(600):
            m = _SERVING.search(me.log())
            if m:
                me.port = int(m.group(1))
                return me
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        proc.kill()
        raise AssertionError(f"engine {name} did not serve:\n{me.log()[-3000:]}")

    def log(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self.log_start)
            return f.read().decode(errors="replace")

    async def metrics(self) -> str:
        if self.proc.poll() is not None:
            return ""
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(f"http://127.0.0.1:{self.port}/metrics") as r,
            ):
                return await r.text()
        except (aiohttp.ClientError, OSError):
            return ""

    async def shards(self) -> int:
        text = await self.metrics()
        return sum(
            1
            for line in text.splitlines()
            if line.startswith("slamon_shard_owner{") and line.endswith(" 1.0")
        )

    async def leading(self) -> bool:
        text = await self.metrics()
        return metric(text, "slamon_cluster_leader", engine=self.name) == 1

    async def failovers(self) -> tuple[float, float]:
        text = await self.metrics()
        count = metric(text, "slamon_shard_failover_seconds_count") or 0.0
        total = metric(text, "slamon_shard_failover_seconds_sum") or 0.0
        return count, total

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    async def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        for _ in range(300):
            if self.proc.poll() is not None:
                return self.proc.returncode
            await asyncio.sleep(0.1)
        self.proc.kill()
        self.proc.wait(10)
        raise AssertionError(f"engine {self.name} did not stop:\n{self.log()[-3000:]}")


async def _until(check: Any, timeout: float, what: str) -> float:
    """Await ``check()`` every 100 ms until true; the seconds it took (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


def _config(
    path: Path, engine_id: str, url: str, prefix: str, run: str, tcp: int, api: str, hook: str
) -> Path:
    sections: dict[str, Any] = {
        "store": {"url": url, "flush_interval": "50ms"},
        "confirmation": {"down_after": 2, "up_after": 1},
        "bus": {
            "kind": "mqtt",
            "topic_prefix": prefix,
            "client_id": f"engine-{run}",
            "locations": ["oslo"],
            "session_expiry": "2m",
            "clock_settle": "1s",
            "shards": _SHARDS,
        },
        "agent": {"client_id": f"agent-{run}-{{location}}"},
        "cluster": {"enabled": True, "engine_id": engine_id, "lease_ttl": 2, "renew_every": 0.5},
        "notifiers": [{"id": "hook", "type": "webhook", "url": hook}],
    }
    monitors: list[dict[str, Any]] = [
        {"id": f"tcp{i}", "type": "tcp", "target": f"127.0.0.1:{tcp}", "interval": "1s"}
        for i in range(8)
    ]
    monitors.append({"id": "api", "type": "http", "target": api, "interval": "1s", "timeout": "1s"})
    monitors.append({"id": "job", "type": "push", "interval": "1h", "token": _PUSH_TOKEN})
    return write_config(path, sections, monitors)


async def _gaps(url: str) -> list[str]:
    """Each place a monitor's stored intervals leave time unknown between two of them."""
    store = Store.from_url(url)
    try:
        async with store.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        state_intervals.c.monitor_id,
                        state_intervals.c.state,
                        state_intervals.c.start_at,
                        state_intervals.c.end_at,
                    ).order_by(state_intervals.c.monitor_id, state_intervals.c.start_at)
                )
            ).all()
    finally:
        await store.close()
    gaps = []
    for before, after in itertools.pairwise(rows):
        if before.monitor_id == after.monitor_id and before.end_at != after.start_at:
            gaps.append(f"{before.monitor_id}: {before.end_at} to {after.start_at}")
    return gaps


async def _monitor_ids(url: str) -> list[str]:
    store = Store.from_url(url)
    try:
        async with store.engine.connect() as conn:
            return [r[0] for r in await conn.execute(select(results.c.monitor_id))]
    finally:
        await store.close()


async def _stored_ids(url: str) -> list[str]:
    store = Store.from_url(url)
    try:
        async with store.engine.connect() as conn:
            return [r[0] for r in await conn.execute(select(results.c.id))]
    finally:
        await store.close()


async def test_sigterm_hands_over_sigkill_fails_over_and_the_leader_notifies_once(
    targets: Targets,
    aiohttp_server: Any,
    tmp_path: Path,
    fresh_pg: str,
) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    sink = Sink()
    receiver = await aiohttp_server(sink.app())
    tcp = TcpTarget()
    await tcp.start()
    prefix, run = unique_prefix(), uuid.uuid4().hex[:8]
    hook = str(receiver.make_url("/hook"))
    configs = {
        name: _config(
            tmp_path / f"{name}.toml",
            name,
            fresh_pg,
            prefix,
            run,
            tcp.port,
            targets.url("/toggle"),
            hook,
        )
        for name in ("a", "b")
    }
    logs = {name: tmp_path / f"engine-{name}.log" for name in configs}
    spool = journaled_spool(tmp_path / "spool-oslo.db")
    engines: dict[str, EngineProcess] = {}
    agent: subprocess.Popen[bytes] | None = None
    try:
        for name in ("a", "b"):
            engines[name] = await EngineProcess.start(name, configs[name], logs[name])
        with (tmp_path / "agent.log").open("ab") as out:
            agent = subprocess.Popen(
                [
                    *(sys.executable, "-m", "slamon", "agent", "--location", "oslo"),
                    *("--spool", str(spool), "-c", str(configs["a"])),
                ],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

        async def spread() -> bool:
            held = [await e.shards() for e in engines.values()]
            return held == [_SHARDS // 2, _SHARDS // 2]

        await _until(spread, 60, "2 shards on each engine")

        # A heartbeat reaches either engine; the one holding its shard stores it.
        for e in engines.values():
            async with (
                aiohttp.ClientSession() as s,
                s.post(f"http://127.0.0.1:{e.port}/push/{_PUSH_TOKEN}") as r,
            ):
                assert r.status == 200, await r.text()

        async def both_heartbeats() -> bool:
            return sum(i.startswith("job") for i in await _monitor_ids(fresh_pg)) == 2

        await _until(both_heartbeats, 30, "both heartbeats stored")

        # The monitor fails: one firing notification, from the leader.
        targets.healthy = False

        async def fired() -> bool:
            return sink.statuses() == ["firing"]

        await _until(fired, 60, "one firing notification")
        await asyncio.sleep(1.5)  # the leader records it as told

        # SIGTERM (a rolling upgrade): the other takes every shard at once.
        b = engines["b"]
        count, total = await b.failovers()
        assert await engines["a"].terminate() == 0
        took = await _until(lambda: _holds(b, _SHARDS), 15, "b takes a's shards after SIGTERM")
        c2, t2 = await b.failovers()
        handover = (t2 - total) / max(1.0, c2 - count)
        print(
            f"SIGTERM handover: {c2 - count:.0f} shards, mean {handover:.2f}s from release "
            f"to consuming, {took:.2f}s after the process exited (polled)"
        )
        assert "handed over 2 shards" in engines["a"].log()

        # a comes back: the shards spread again (a rebalance hands two back).
        engines["a"] = await EngineProcess.start("a", configs["a"], logs["a"])
        await _until(spread, 30, "the shards spread again after a restart")

        # SIGKILL the leader: the other takes its shards once its leases expire.
        leaders = [n for n, e in engines.items() if await e.leading()]
        assert len(leaders) == 1
        leader = leaders[0]
        other = engines["b" if leader == "a" else "a"]
        count, total = await other.failovers()
        engines[leader].kill()
        took = await _until(lambda: _holds(other, _SHARDS), 30, "the survivor takes the shards")
        await _until(other.leading, 30, "the survivor leads")
        c2, t2 = await other.failovers()
        failover = (t2 - total) / max(1.0, c2 - count)
        print(
            f"SIGKILL failover (lease_ttl 2s): {c2 - count:.0f} shards, mean {failover:.2f}s "
            f"after the lease expired, {took:.2f}s after the kill (polled)"
        )

        # The monitor recovers: one resolved notification, from the new leader.
        targets.healthy = True

        async def resolved() -> bool:
            return sink.statuses() == ["firing", "resolved"]

        await _until(resolved, 60, "one resolved notification")

        # The agent stops (its spool drained): everything it measured is stored.
        agent.send_signal(signal.SIGTERM)
        agent.wait(30)
        produced, waiting = spooled_ids(spool)
        # What the broker acknowledged to the agent must be stored; what was still in
        # its spool when it stopped may or may not have been sent.
        published = set(produced) - waiting

        async def all_stored() -> bool:
            return published <= set(await _stored_ids(fresh_pg))

        await _until(all_stored, 60, "every spooled result stored")
        stored = await _stored_ids(fresh_pg)
        assert len(stored) == len(set(stored))
        assert len(produced) == len(set(produced))
        assert len(published) > 50

        # Neither the handover nor the failover left a monitor unknown for a while.
        assert await _gaps(fresh_pg) == []

        await asyncio.sleep(2)  # nothing more is told
        assert sink.statuses() == ["firing", "resolved"]
        keys = [key for key, body in sink.got if body.get("event") == "alert"]
        assert all(keys) and len(set(keys)) == 2
        for key, body in sink.got:
            if body.get("event") != "alert":
                continue
            told = f"alert:{body['fingerprint']}:{body['status']}:{body['startsAt'] or ''}"
            assert key == hashlib.sha256(told.encode()).hexdigest()[:32]
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait(10)
        for e in engines.values():
            if e.proc.poll() is None:
                await e.terminate()
        await tcp.close()


async def _holds(engine: EngineProcess, count: int) -> bool:
    return await engine.shards() == count
