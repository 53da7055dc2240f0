"""A cluster of ``slamon engine`` processes, agents and faults, for tests and the bench.

Three engines (``[cluster] enabled``) share the shards by leases in PostgreSQL; two
agent processes (locations ``a`` and ``b``) probe a TCP target and an HTTP target the
test makes fail and recover; a webhook sink records what the leader notifies. The
scenarios (``kill_scenario``: SIGKILL the leader, then another, restart both;
``rolling_scenario``: SIGTERM each engine in turn and restart it) return what they
measured, and ``check`` audits the store against what the agents spooled
(``tests/fleet.py``): every result stored once, no unknown where results say what it
was. tests/test_failover.py asserts on these; bench/failover.py prints them.

What is watched comes from the database (the ``leases`` table, by its own clock) and
from each engine's /metrics; nothing here reaches into an engine's process.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.intervals import Interval
from tests.fleet import (
    Audit,
    MonitorSetup,
    TcpTarget,
    audit,
    describe,
    journaled_spool,
    stored_count,
    write_config,
)
from tests.slamon_process import metric

_SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
SILENT_AFTER = 3
LOCATIONS = ("a", "b")


class Hooks:
    """One HTTP server: ``/hook`` records webhooks, ``/toggle`` answers as ``healthy``."""

    def __init__(self) -> None:
        self.healthy = True
        self.got: list[tuple[str | None, dict[str, Any]]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            self.got.append((request.headers.get("Idempotency-Key"), await request.json()))
            return web.Response(text="ok")

        async def toggle(_request: web.Request) -> web.Response:
            if self.healthy:
                return web.Response(text="up")
            return web.Response(status=503, text="down")

        app = web.Application()
        app.router.add_post("/hook", hook)
        app.router.add_get("/toggle", toggle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def alerts(self) -> list[tuple[str | None, str]]:
        """(Idempotency-Key, status) of every alert notification received."""
        return [(key, body["status"]) for key, body in self.got if body.get("event") == "alert"]

    def told(self) -> list[str]:
        """The statuses told, a retried delivery (the same key) counted once."""
        seen: set[str | None] = set()
        out = []
        for key, status in self.alerts():
            if key is not None and key in seen:
                continue
            seen.add(key)
            out.append(status)
        return out


@dataclass
class EngineProc:
    """One ``slamon engine`` process, its log and web port."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_start: int
    port: int = 0

    def log(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self.log_start)
            return f.read().decode(errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    async def metrics(self) -> str:
        if not self.alive or not self.port:
            return ""
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(f"http://127.0.0.1:{self.port}/metrics") as r,
            ):
                return await r.text()
        except (aiohttp.ClientError, OSError):
            return ""

    async def failovers(self) -> tuple[float, float]:
        """(count, sum) of slamon_shard_failover_seconds on this engine."""
        text = await self.metrics()
        return (
            metric(text, "slamon_shard_failover_seconds_count") or 0.0,
            metric(text, "slamon_shard_failover_seconds_sum") or 0.0,
        )

    async def states(self) -> list[str]:
        """The state of every monitor, as this engine's API shows it ([] if it cannot)."""
        if not self.alive or not self.port:
            return []
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(f"http://127.0.0.1:{self.port}/api/v1/monitors") as r,
            ):
                body = await r.json()
        except (aiohttp.ClientError, OSError, ValueError):
            return []
        return [m["state"] for m in body.get("monitors", [])]


async def until(check: Any, timeout: float, what: str, step: float = 0.1) -> float:
    """Await ``check()`` until true, at most ``timeout`` s; the seconds it took."""
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:g}s")
        await asyncio.sleep(step)


@dataclass
class Failover:
    """One engine's death or stop, and how long until its shards had a new owner."""

    engine: str
    how: str  # SIGKILL or SIGTERM
    shards: int  # shards it held
    leader: bool
    reassigned_s: float  # signal to every shard held again by a live engine (polled)
    consumed_s: float | None  # mean of the takers' slamon_shard_failover_seconds

    def line(self) -> str:
        consumed = f"{self.consumed_s:.2f}s" if self.consumed_s is not None else "n/a"
        return (
            f"{self.how} {self.engine} ({self.shards} shards"
            f"{', leader' if self.leader else ''}): shards held again {self.reassigned_s:.2f}s "
            f"after the signal; lease end to consuming (takers' metric, mean) {consumed}"
        )


@dataclass
class ClusterFleet:
    """Engines, agents, targets and the store of one cluster run."""

    workdir: Path
    store_url: str
    broker_port: int = 1883
    engines_n: int = 3
    shards: int = 6
    lease_ttl: float = 2.0
    renew_every: float = 0.5
    monitors: int = 12
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    engines: dict[str, EngineProc] = field(default_factory=dict)
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    tcp: TcpTarget = field(default_factory=TcpTarget)
    hooks: Hooks = field(default_factory=Hooks)
    _db: asyncpg.Connection | None = None

    @property
    def names(self) -> list[str]:
        return [f"e{i + 1}" for i in range(self.engines_n)]

    @property
    def monitor_ids(self) -> list[str]:
        return [f"tcp{i}" for i in range(self.monitors)] + ["api"]

    def config_path(self, name: str) -> Path:
        return self.workdir / f"{name}.toml"

    def spool(self, location: str) -> Path:
        return self.workdir / f"spool-{location}.db"

    def setups(self) -> list[MonitorSetup]:
        policy = ConfirmPolicy(down_after=2, up_after=2)
        return [MonitorSetup(m, LOCATIONS, 2, 1.0, policy) for m in self.monitor_ids]

    async def start(self) -> None:
        """Targets and configs, then every engine; returns once each serves."""
        await self.tcp.start()
        await self.hooks.start()
        prefix = f"clusterfleet-{self.run}/v1"
        for name in self.names:
            sections: dict[str, Any] = {
                "store": {"url": self.store_url, "flush_interval": "50ms"},
                "confirmation": {"down_after": 2, "up_after": 2},
                "bus": {
                    "kind": "mqtt",
                    "port": self.broker_port,
                    "topic_prefix": prefix,
                    "client_id": f"engine-{self.run}",
                    "locations": list(LOCATIONS),
                    "session_expiry": "5m",
                    "clock_settle": "1s",
                    "silent_after": SILENT_AFTER,
                    "shards": self.shards,
                },
                "agent": {"client_id": f"agent-{self.run}-{{location}}", "spool_max": 1_000_000},
                "cluster": {
                    "enabled": True,
                    "engine_id": name,
                    "lease_ttl": self.lease_ttl,
                    "renew_every": self.renew_every,
                },
                "notifiers": [
                    {
                        "id": "hook",
                        "type": "webhook",
                        "url": f"http://127.0.0.1:{self.hooks.port}/hook",
                    }
                ],
            }
            mons: list[dict[str, Any]] = [
                {"id": f"tcp{i}", "type": "tcp", "target": f"127.0.0.1:{self.tcp.port}"}
                | {"interval": "1s"}
                for i in range(self.monitors)
            ]
            mons.append(
                {
                    "id": "api",
                    "type": "http",
                    "target": f"http://127.0.0.1:{self.hooks.port}/toggle",
                    "interval": "1s",
                    "timeout": "1s",
                }
            )
            write_config(self.config_path(name), sections, mons)
        for name in self.names:
            self.spawn_engine(name)
        for name in self.names:
            await self.serving(name)

    def spawn_engine(self, name: str) -> None:
        log_path = self.workdir / f"engine-{name}.log"
        start = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "slamon", "engine"),
                    *("-c", str(self.config_path(name)), "--port", "0"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.engines[name] = EngineProc(name, proc, log_path, start)

    async def serving(self, name: str, timeout: float = 90) -> None:
        engine = self.engines[name]

        async def up() -> bool:
            m = _SERVING.search(engine.log())
            if m:
                engine.port = int(m.group(1))
                return True
            if not engine.alive:
                raise AssertionError(f"engine {name} exited:\n{engine.log()[-3000:]}")
            return False

        await until(up, timeout, f"engine {name} serves")

    async def restart(self, name: str) -> None:
        self.spawn_engine(name)
        await self.serving(name)

    def start_agents(self) -> None:
        for loc in LOCATIONS:
            spool = self.spool(loc)
            if not spool.exists():
                journaled_spool(spool)
            with (self.workdir / f"agent-{loc}.log").open("ab") as out:
                self.agents[loc] = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "slamon", "agent", "--location", loc),
                        *("--spool", str(spool), "-c", str(self.config_path(self.names[0]))),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )

    def stop_agents(self) -> None:
        for proc in self.agents.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.agents.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    # -- what the database says ---------------------------------------------------------

    async def db(self) -> asyncpg.Connection:
        if self._db is None or self._db.is_closed():
            self._db = await asyncpg.connect(
                self.store_url.replace("postgresql+asyncpg://", "postgresql://")
            )
        return self._db

    async def held(self) -> dict[str, str]:
        """Lease name -> owner, of the leases held now (unexpired, by the DB's clock)."""
        try:
            rows = await (await self.db()).fetch(
                "SELECT name, owner FROM leases WHERE owner IS NOT NULL AND expires_at > now()"
            )
        except (OSError, asyncpg.PostgresError):
            return {}  # not migrated yet, or the server is busy: ask again
        return {r["name"]: r["owner"] for r in rows}

    async def shards_of(self) -> dict[str, int]:
        """Engine -> how many shards it holds now."""
        out = dict.fromkeys(self.names, 0)
        for name, owner in (await self.held()).items():
            if name.startswith("shard/"):
                out[owner] = out.get(owner, 0) + 1
        return out

    async def leader(self) -> str | None:
        return (await self.held()).get("leader")

    async def spread(self, among: list[str] | None = None) -> bool:
        """Every shard held, evenly among ``among`` (default: the live engines), and a
        leader among them."""
        among = among or [n for n, e in self.engines.items() if e.alive]
        held = await self.held()
        shards = [o for n, o in held.items() if n.startswith("shard/")]
        if len(shards) != self.shards or set(shards) - set(among):
            return False
        counts = [shards.count(n) for n in among]
        return max(counts) - min(counts) <= 1 and held.get("leader") in among

    async def confirmed(self) -> bool:
        """Every monitor up or down on every live engine's API."""
        for e in self.engines.values():
            if not e.alive:
                continue
            states = await e.states()
            if len(states) != len(self.monitor_ids) or not all(s in ("up", "down") for s in states):
                return False
        return True

    # -- faults -------------------------------------------------------------------------

    async def _takers_mean(self, before: dict[str, tuple[float, float]]) -> float | None:
        count = total = 0.0
        for name, (c0, t0) in before.items():
            if self.engines[name].alive:
                c1, t1 = await self.engines[name].failovers()
                count += c1 - c0
                total += t1 - t0
        return total / count if count else None

    async def fail(self, name: str, how: signal.Signals, timeout: float) -> Failover:
        """Send ``how`` to engine ``name``; wait until its shards are held by others."""
        held = await self.shards_of()
        leader = await self.leader() == name
        others = [n for n, e in self.engines.items() if e.alive and n != name]
        before = {n: await self.engines[n].failovers() for n in others}
        engine = self.engines[name]
        engine.proc.send_signal(how)

        async def taken() -> bool:
            now = await self.held()
            shards = [o for n, o in now.items() if n.startswith("shard/")]
            return len(shards) == self.shards and name not in shards

        reassigned = await until(taken, timeout, f"{name}'s shards taken", step=0.05)
        engine.proc.wait(60)
        await asyncio.sleep(0.5)  # the takers' consumers subscribe and record the time
        return Failover(
            name,
            how.name,
            held.get(name, 0),
            leader,
            reassigned,
            await self._takers_mean(before),
        )

    async def close(self) -> None:
        for proc in self.agents.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for e in self.engines.values():
            if e.alive:
                e.proc.send_signal(signal.SIGTERM)
        for e in self.engines.values():
            try:
                e.proc.wait(30)
            except subprocess.TimeoutExpired:
                e.proc.kill()
                e.proc.wait(10)
        if self._db is not None and not self._db.is_closed():
            await self._db.close()
        await self.tcp.close()
        await self.hooks.close()


@dataclass
class Outcome:
    """What a scenario measured, and the audit of the store at its end."""

    failovers: list[Failover]
    audit: Audit
    report: list[str]
    told: list[str]  # notification statuses, a retried key counted once
    deliveries: int  # webhook requests for alerts, retries included

    @property
    def unknown_s(self) -> float:
        return self.audit.total("unknown_with_data")


async def drained(fleet: ClusterFleet, timeout: float = 120) -> None:
    """Wait until the count of stored results stops growing (the agents are stopped)."""
    from slamon.store.sql import Store

    store = Store.from_url(fleet.store_url)
    try:
        before = -2
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = await stored_count(store)
            if now == before:
                return
            before = now
            await asyncio.sleep(1.5)
        raise AssertionError(f"the engines still store results after {timeout:g}s")
    finally:
        await store.close()


async def finish(fleet: ClusterFleet, window_start: datetime, failovers: list[Failover]) -> Outcome:
    """Stop the agents once the window is over, let the engines store it all, audit."""
    window_end = datetime.now(UTC)
    # The last results an agent spools before it stops may not be sent: stop after the
    # window, so that every result in it was.
    await asyncio.sleep(2)
    fleet.stop_agents()
    await drained(fleet)
    result = await audit(
        fleet.store_url,
        fleet.setups(),
        [fleet.spool(loc) for loc in LOCATIONS],
        silent_after=SILENT_AFTER,
        window=Interval(window_start, window_end),
    )
    report = [f.line() for f in failovers]
    report += describe(result, {"monitors": fleet.monitor_ids})
    told = fleet.hooks.told()
    deliveries = len(fleet.hooks.alerts())
    report.append(f"notifications told: {told} ({deliveries} webhook deliveries)")
    return Outcome(failovers, result, report, told, deliveries)


async def kill_scenario(fleet: ClusterFleet, *, settle: float = 5.0) -> Outcome:
    """SIGKILL the engine holding the leader lease (and, of those, the most shards),
    later another; a monitor fails before the first kill and recovers after the second;
    both engines restart. The fleet must be started."""
    await until(fleet.spread, 120, "the shards spread over every engine")
    fleet.start_agents()
    await until(fleet.confirmed, 120, "every monitor confirmed on every engine", step=0.3)
    window_start = datetime.now(UTC)
    fleet.hooks.healthy = False
    await until(lambda: _told(fleet, ["firing"]), 60, "one firing notification", step=0.2)
    await asyncio.sleep(1.5)  # the leader records it as told
    failovers = []
    for _ in range(2):
        counts = await fleet.shards_of()
        leader = await fleet.leader()
        live = [n for n, e in fleet.engines.items() if e.alive]
        # The leader the first time; then whoever holds the most (the leader if tied).
        victim = max(live, key=lambda n: (n == leader, counts.get(n, 0)))
        failovers.append(await fleet.fail(victim, signal.SIGKILL, timeout=60))
        await until(fleet.spread, 60, "the survivors hold every shard and lead")
        await asyncio.sleep(settle)
    fleet.hooks.healthy = True
    await until(
        lambda: _told(fleet, ["firing", "resolved"]), 60, "one resolved notification", step=0.2
    )
    for f in failovers:
        await fleet.restart(f.engine)
    await until(fleet.spread, 90, "the shards spread again over three engines")
    await asyncio.sleep(settle)
    return await finish(fleet, window_start, failovers)


async def rolling_scenario(fleet: ClusterFleet, *, settle: float = 3.0) -> Outcome:
    """SIGTERM each engine in turn (a rolling upgrade), restarting it before the next."""
    await until(fleet.spread, 120, "the shards spread over every engine")
    fleet.start_agents()
    await until(fleet.confirmed, 120, "every monitor confirmed on every engine", step=0.3)
    window_start = datetime.now(UTC)
    failovers = []
    for name in fleet.names:
        failovers.append(await fleet.fail(name, signal.SIGTERM, timeout=60))
        await asyncio.sleep(settle)
        await fleet.restart(name)
        await until(fleet.spread, 90, f"the shards spread again after {name} restarts")
        await asyncio.sleep(settle)
    return await finish(fleet, window_start, failovers)


async def _told(fleet: ClusterFleet, statuses: list[str]) -> bool:
    return fleet.hooks.told() == statuses
