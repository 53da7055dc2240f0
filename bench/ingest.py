"""Ingest benchmark: agents publish through a real broker into the engine and the store.

Two agent processes each create results at a fixed rate, spool them and publish them
(the real Agent code) to a private mosquitto; this process runs the engine (the real
MqttIngest, Engine and Writer) on SQLite or a fresh PostgreSQL database and measures
how many results per second are committed, and the time from a result's creation on
the agent (just before its spool and publish) to its commit.

The box is shared: before the run it times a fixed piece of pure-Python work
(calibration: its CPU time says how fast a core is, CPU over wall time how much of one
this process got), and during the run it reads /proc/stat to say how busy the machine
was and how much of that was the agents, the broker and the engine.

    .venv/bin/python bench/ingest.py --store sqlite --rate 20000 --seconds 20
    .venv/bin/python bench/ingest.py --store postgres --rate 20000 --seconds 20
    .venv/bin/python bench/ingest.py --store postgres --rate 20000 --seconds 20 --drain

With ``--drain`` the agents publish everything into the engine's persistent session
first and the engine then drains it with the box to itself: the engine's (and the
database's) own rate, without the agents' CPU.

With ``--engines N`` (PostgreSQL) N ``slamon engine`` processes with ``[cluster]
enabled`` share the shards (``--shards``, default 8) by leases; the figures come from
the results table, polled (latency: the k-th result stored against the k-th created,
at the polls' resolution). ``--ledger FILE`` appends the figures (``bench/ledger.py``);
``--quick`` is a short run for ``make bench``.

    .venv/bin/python bench/ingest.py --store postgres --engines 2 --rate 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes.result import Result
from sla_engine.time.states import State
from slamon import app as slamon_app
from slamon.bus.agent import Agent, Spool
from slamon.config.load import parse_config
from slamon.config.model import Config
from tests.brokers import PrivateBroker
from tests.fleet import write_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger import record  # bench/ledger.py

PG_ADMIN = os.environ.get("SLAMON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def make_config(
    store_url: str, port: int, monitors: int, prefix: str, extra: dict[str, dict[str, object]]
) -> Config:
    data: dict[str, dict[str, object]] = {
        "store": {"url": store_url, "flush_interval": "100ms", "batch_size": 5000},
        "bus": {
            "kind": "mqtt",
            "port": port,
            "topic_prefix": prefix,
            "client_id": f"bench-engine-{prefix}",
            "locations": ["a", "b"],
            "session_expiry": "5m",
        },
        "agent": {"client_id": "bench-agent-{location}"},
    }
    for section, values in extra.items():
        data.setdefault(section, {}).update(values)
    return parse_config(
        {
            **data,
            "monitors": [
                {"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9", "interval": "30s"}
                for i in range(monitors)
            ],
        },
        {},
    )


def calibrate() -> tuple[float, float]:
    """CPU and wall milliseconds of a fixed piece of pure-Python work."""
    wall, cpu = time.perf_counter(), time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def cpu_ticks() -> tuple[int, int]:
    """Busy and total jiffies of the whole machine (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def process_cpu(pid: int) -> float:
    """CPU seconds a process used so far (user and system)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def agent_main(args: dict[str, object]) -> None:
    async def go() -> None:
        config = make_config(
            "sqlite+aiosqlite:///unused.db",
            int(args["port"]),
            int(args["monitors"]),
            str(args["prefix"]),
            {k: v for k, v in args["extra"].items() if k != "cluster"},  # type: ignore[attr-defined]
        )  # type: ignore[arg-type]
        location = str(args["location"])
        spool = Spool(Path(str(args["spool"])), 10_000_000)
        agent = Agent(config, location, spool, window=2000)
        task = asyncio.create_task(agent.run())
        rate, seconds, monitors = float(args["rate"]), float(args["seconds"]), int(args["monitors"])  # type: ignore[arg-type]
        start = time.monotonic()
        made = 0
        total = int(rate * seconds)
        while made < total:
            due = int((time.monotonic() - start) * rate)
            now = datetime.now(UTC)
            while made < min(due, total):
                agent.sink(Result(f"m{made % monitors}", location, now, State.UP, 0.01))
                made += 1
            await asyncio.sleep(0.01)
        agent.spool_pending()
        while spool.count:
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(go())


async def create_pg_database() -> str:

    name = f"slamon_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name


async def drop_pg_database(url: str) -> None:

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


async def run(opts: argparse.Namespace, workdir: Path) -> dict[str, float]:
    broker = PrivateBroker(workdir)
    broker.start()
    store_url = (
        f"sqlite+aiosqlite:///{workdir}/bench.db"
        if opts.store == "sqlite"
        else await create_pg_database()
    )
    prefix = f"bench-{uuid.uuid4().hex[:6]}/v1"
    # Only what is asked for: the same script measures code from before these keys.
    extra: dict[str, dict[str, object]] = {"store": {}, "bus": {}, "agent": {}}
    if opts.shards is not None:
        extra["bus"]["shards"] = opts.shards
    if opts.batch_size is not None:
        extra["agent"]["batch_size"] = opts.batch_size
    if opts.cluster:  # one cluster member holding every shard (leases, fenced writes)
        extra["cluster"] = {"enabled": True, "engine_id": "bench", "lease_ttl": 10}
    config = make_config(store_url, broker.port, opts.monitors, prefix, extra)
    runtime = slamon_app.build_runtime(config)
    latencies: list[float] = []
    # (commit time, creation time) of every result, for the steady-state figures
    commits: list[tuple[float, float]] = []
    committed = 0
    first_commit = last_commit = 0.0
    writer = runtime.writer
    previous = writer.on_settled

    def settled(results) -> None:  # type: ignore[no-untyped-def]
        nonlocal committed, first_commit, last_commit
        now = time.time()
        if not first_commit:
            first_commit = now
        last_commit = now
        committed += len(results)
        created = [r.at.timestamp() for r in results]
        latencies.extend([now - a for a in created])
        commits.extend([(now, a) for a in created])
        for r in results:
            got = sampled.pop(r.id, None)
            if got is not None:
                stages.append((got - r.at.timestamp(), now - got))
        if previous is not None:
            previous(results)

    writer.on_settled = settled
    # Where the time goes, for the first result of one message in `every`: created ->
    # received by the engine (agent spool and publish, broker) and received -> stored
    # (engine and store). Batched messages are sampled each; single results 1 in 50.
    sampled: dict[str, float] = {}
    stages: list[tuple[float, float]] = []
    handle = runtime.ingest.handle if runtime.ingest is not None else None
    seen = 0
    payload_bytes = 0

    def handle_sampled(message) -> None:  # type: ignore[no-untyped-def]
        nonlocal seen, payload_bytes
        seen += 1
        payload_bytes += len(message.payload)
        every = 50 if b'"result":' in message.payload[:120] else 1
        if seen % every == 0:
            start = message.payload.find(b'"id":"') + 6
            sampled[message.payload[start : message.payload.index(b'"', start)].decode()] = (
                time.time()
            )
        handle(message)  # type: ignore[misc]

    if runtime.ingest is not None:
        runtime.ingest.handle = handle_sampled  # type: ignore[method-assign]
    tasks = await slamon_app.start(runtime)
    slamon_app.tune_gc()  # as `slamon engine` does once started
    ingest = runtime.ingest
    assert ingest is not None
    # The agents start as soon as the engine is subscribed (its first status-site
    # build, in the render worker process, may still be running).
    while not ingest.connected:
        await asyncio.sleep(0.05)
    member = runtime.member
    while member is not None and not (
        len(member.shards) == config.bus.shards
        and all(s.consumer and s.consumer.subscribed.is_set() for s in member.shards.values())
    ):
        await asyncio.sleep(0.05)
    per_agent = opts.rate / 2
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=agent_main,
            args=(
                {
                    "port": broker.port,
                    "monitors": opts.monitors,
                    "prefix": prefix,
                    "location": loc,
                    "spool": str(workdir / f"spool-{loc}.db"),
                    "rate": per_agent,
                    "seconds": opts.seconds,
                    "extra": extra,
                },
            ),
        )
        for loc in ("a", "b")
    ]
    gc_time = [0.0, 0.0]  # all collections, the oldest generation's
    gc_started = [0.0]

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            spent = time.perf_counter() - gc_started[0]
            gc_time[0] += spent
            if info["generation"] == 2:
                gc_time[1] += spent

    gc.callbacks.append(gc_timer)
    calib_cpu, calib_wall = calibrate()
    assert broker.proc is not None
    broker_cpu_before = process_cpu(broker.proc.pid)
    started = time.time()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    load_before = os.getloadavg()
    ticks_before = cpu_ticks()
    for p in procs:
        p.start()
    expected = int(per_agent * opts.seconds) * 2
    deadline = time.monotonic() + opts.seconds + opts.grace
    while committed < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
    load_after = os.getloadavg()
    ticks_after = cpu_ticks()
    broker_cpu = process_cpu(broker.proc.pid) - broker_cpu_before
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    engine_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    agents_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    agents_cpu_s = agents_cpu.ru_utime + agents_cpu.ru_stime
    stored = await runtime.store.count_results()
    # The database's own CPU: its server processes for this (fresh) database.
    db_cpu = 0.0
    if opts.store == "postgres":
        conn = await asyncpg.connect(PG_ADMIN)
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", store_url.rsplit("/", 1)[1]
        )
        await conn.close()
        for row in pids:
            with contextlib.suppress(OSError):
                db_cpu += process_cpu(row["pid"])
    await slamon_app.stop(runtime, tasks)
    broker.stop()
    if opts.store == "postgres":
        await drop_pg_database(store_url)
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))]
            if latencies
            else float("nan")
        )

    span = (last_commit - first_commit) or 1e-9
    # Steady state: results created after the warm-up and before the agents stopped
    # producing (the first seconds fill caches and connection pools).
    steady_from, steady_to = started + opts.warmup, started + opts.seconds
    steady = sorted(c - a for c, a in commits if steady_from <= a < steady_to)
    steady_commits = [c for c, a in commits if steady_from <= a < steady_to]
    steady_span = (max(steady_commits) - min(steady_commits)) if steady_commits else 1e-9

    def spct(q: float) -> float:
        return steady[min(len(steady) - 1, int(q * len(steady)))] if steady else float("nan")

    print(
        f"store={opts.store} target={opts.rate:.0f}/s for {opts.seconds:.0f}s, "
        f"{opts.monitors} monitors, 2 agents"
    )
    print(
        f"  expected {expected}, committed {committed}, rows stored {stored}, "
        f"duplicates {writer.results_duplicate}, dropped {writer.results_dropped}"
    )
    print(
        f"  MQTT messages {seen} ({committed / max(seen, 1):.0f} results each, "
        f"{payload_bytes / max(seen, 1) / 1024:.1f} KiB)"
    )
    print(
        f"  sustained {committed / span:,.0f} results/s (first to last commit, {span:.1f}s); "
        f"wall {time.time() - started:.1f}s"
    )
    print(
        f"  created->stored latency p50 {pct(0.5) * 1000:.0f} ms, "
        f"p99 {pct(0.99) * 1000:.0f} ms, max {pct(1.0) * 1000:.0f} ms"
    )
    print(
        f"  steady state (created {opts.warmup:.0f}s..{opts.seconds:.0f}s): "
        f"{len(steady) / max(steady_span, 1e-9):,.0f} results/s stored, "
        f"latency p50 {spct(0.5) * 1000:.0f} ms, p99 {spct(0.99) * 1000:.0f} ms"
    )
    print(
        f"  CPU per result: engine {engine_cpu / max(committed, 1) * 1e6:.0f} us "
        f"({engine_cpu:.1f}s incl. its SQLite thread), "
        f"agents {agents_cpu_s / max(expected, 1) * 1e6:.0f} us"
    )
    busy = (ticks_after[0] - ticks_before[0]) / os.sysconf("SC_CLK_TCK")
    wall = time.time() - started
    ours = engine_cpu + agents_cpu_s + broker_cpu
    print(
        f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} cores); machine busy {busy / wall:.2f} cores over the run: "
        f"engine {engine_cpu / wall:.2f}, agents {agents_cpu_s / wall:.2f}, "
        f"broker {broker_cpu / wall:.2f}, the database's server processes "
        f"{db_cpu / wall:.2f} ({db_cpu / max(committed, 1) * 1e6:.0f} us/result), "
        f"everything else on the box {(busy - ours - db_cpu) / wall:.2f}"
    )
    print(
        f"  engine garbage collection {gc_time[0]:.2f}s "
        f"(oldest generation {gc_time[1]:.2f}s) of {engine_cpu:.1f}s CPU"
    )
    print(
        f"  calibration: fixed work {calib_cpu:.0f} ms CPU in {calib_wall:.0f} ms wall "
        f"(CPU/wall {calib_cpu / calib_wall:.2f}: the share of a core this process got)"
    )
    if stages:
        to_engine = sorted(a for a, _ in stages)
        in_engine = sorted(b for _, b in stages)
        print(
            "  where (1 in 50): created->received p50 "
            f"{to_engine[len(to_engine) // 2] * 1000:.0f} ms, p99 "
            f"{to_engine[int(len(to_engine) * 0.99)] * 1000:.0f} ms; received->stored p50 "
            f"{in_engine[len(in_engine) // 2] * 1000:.0f} ms, p99 "
            f"{in_engine[int(len(in_engine) * 0.99)] * 1000:.0f} ms"
        )
    figures = {
        "results_per_s": committed / span,
        "p99_s": pct(0.99),
        "load": load_after[0],
        "engine_us": engine_cpu / max(committed, 1) * 1e6,
    }
    if stored < expected:
        # Not everything was stored within the run (the rest at the engine's stop):
        # no rate to speak of.
        figures["results_per_s"] = 0.0
    if opts.timeline:
        # Per second of creation: how many, and their latency (where the p99 comes from).
        by_second: dict[int, list[float]] = {}
        for c, a in commits:
            by_second.setdefault(int(a - started), []).append(c - a)
        print("  second  results  p50 ms  max ms")
        for sec in sorted(by_second):
            lat = sorted(by_second[sec])
            print(
                f"  {sec:6d} {len(lat):8d} {lat[len(lat) // 2] * 1000:7.0f} {lat[-1] * 1000:7.0f}"
            )
    return figures


async def drain(opts: argparse.Namespace, workdir: Path) -> None:
    """The engine alone: agents fill its persistent session first, then it drains it."""
    broker = PrivateBroker(workdir)
    broker.start()
    store_url = (
        f"sqlite+aiosqlite:///{workdir}/bench.db"
        if opts.store == "sqlite"
        else await create_pg_database()
    )
    prefix = f"bench-{uuid.uuid4().hex[:6]}/v1"
    extra: dict[str, dict[str, object]] = {"store": {}, "bus": {}, "agent": {}}
    config = make_config(store_url, broker.port, opts.monitors, prefix, extra)
    # A first start makes the engine's persistent session and its subscriptions.
    first = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(first)
    assert first.ingest is not None
    while not first.ingest.connected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    await slamon_app.stop(first, tasks)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=agent_main,
            args=(
                {
                    "port": broker.port,
                    "monitors": opts.monitors,
                    "prefix": prefix,
                    "location": loc,
                    "spool": str(workdir / f"spool-{loc}.db"),
                    "rate": opts.rate / 2,
                    "seconds": opts.seconds,
                    "extra": extra,
                },
            ),
        )
        for loc in ("a", "b")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=opts.seconds + 300)
    expected = int(opts.rate / 2 * opts.seconds) * 2
    runtime = slamon_app.build_runtime(config)
    writer = runtime.writer
    committed = 0
    last_commit = 0.0
    previous = writer.on_settled

    def settled(results) -> None:  # type: ignore[no-untyped-def]
        nonlocal committed, last_commit
        committed += len(results)
        last_commit = time.time()
        if previous is not None:
            previous(results)

    writer.on_settled = settled
    calib_cpu, calib_wall = calibrate()
    load_before = os.getloadavg()
    ticks_before = cpu_ticks()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.time()
    tasks = await slamon_app.start(runtime)
    slamon_app.tune_gc()
    deadline = time.monotonic() + 300
    while committed < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    ticks_after = cpu_ticks()
    engine_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    db_cpu = 0.0
    if opts.store == "postgres":
        conn = await asyncpg.connect(PG_ADMIN)
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", store_url.rsplit("/", 1)[1]
        )
        await conn.close()
        for row in pids:
            with contextlib.suppress(OSError):
                db_cpu += process_cpu(row["pid"])
    stored = await runtime.store.count_results()
    await slamon_app.stop(runtime, tasks)
    broker.stop()
    if opts.store == "postgres":
        await drop_pg_database(store_url)
    span = (last_commit - started) or 1e-9
    busy = (ticks_after[0] - ticks_before[0]) / os.sysconf("SC_CLK_TCK")
    print(f"store={opts.store} drain: {expected} results queued for the engine by 2 agents")
    print(
        f"  committed {committed}, rows stored {stored}, duplicates "
        f"{writer.results_duplicate}, dropped {writer.results_dropped}"
    )
    print(f"  drained at {committed / span:,.0f} results/s ({span:.1f}s from the engine's start)")
    print(
        f"  CPU per result: engine {engine_cpu / max(committed, 1) * 1e6:.0f} us, "
        f"the database's server processes {db_cpu / max(committed, 1) * 1e6:.0f} us"
    )
    print(
        f"  load average before {load_before[0]:.2f} ({os.cpu_count()} cores); machine busy "
        f"{busy / span:.2f} cores: engine {engine_cpu / span:.2f}, database {db_cpu / span:.2f}, "
        f"everything else {(busy - engine_cpu - db_cpu) / span:.2f}"
    )
    print(
        f"  calibration: fixed work {calib_cpu:.0f} ms CPU in {calib_wall:.0f} ms wall "
        f"(CPU/wall {calib_cpu / calib_wall:.2f})"
    )


def cluster_config(
    path: Path, store_url: str, port: int, monitors: int, prefix: str, shards: int, engine: str
) -> Path:
    """The TOML config of one cluster engine (as ``make_config``, and ``[cluster]``)."""
    return write_config(
        path,
        {
            "store": {"url": store_url, "flush_interval": "100ms", "batch_size": 5000},
            "bus": {
                "kind": "mqtt",
                "port": port,
                "topic_prefix": prefix,
                "client_id": f"bench-engine-{prefix}",
                "locations": ["a", "b"],
                "session_expiry": "5m",
                "shards": shards,
            },
            "agent": {"client_id": "bench-agent-{location}"},
            "cluster": {
                "enabled": True,
                "engine_id": engine,
                "lease_ttl": "6s",
                "renew_every": "1s",
            },
        },
        [
            {"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9", "interval": "30s"}
            for i in range(monitors)
        ],
    )


async def run_cluster(opts: argparse.Namespace, workdir: Path) -> dict[str, float]:
    """N ``slamon engine`` processes sharing the shards; figures from the results table."""
    broker = PrivateBroker(workdir)
    broker.start()
    store_url = await create_pg_database()
    dsn = store_url.replace("postgresql+asyncpg://", "postgresql://")
    prefix = f"bench-{uuid.uuid4().hex[:6]}/v1"
    shards = opts.shards or 8
    engines = []
    try:
        for i in range(opts.engines):
            cfg = cluster_config(
                workdir / f"engine-{i}.toml",
                store_url,
                broker.port,
                opts.monitors,
                prefix,
                shards,
                f"bench-e{i}",
            )
            with (workdir / f"engine-{i}.log").open("ab") as out:
                engines.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "slamon", "engine", "--port", "0", "-c", str(cfg)],
                        stdout=subprocess.DEVNULL,
                        stderr=out,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    )
                )
        conn = None
        deadline = time.monotonic() + 120
        # Every shard held, spread evenly, before the agents start.
        spread: list[int] = []
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            try:
                conn = conn or await asyncpg.connect(dsn)
                rows = await conn.fetch(
                    "SELECT owner, count(*) AS n FROM leases WHERE name LIKE 'shard/%' "
                    "AND owner IS NOT NULL AND expires_at > now() GROUP BY owner"
                )
            except (OSError, asyncpg.PostgresError):
                continue  # the engines are still migrating
            spread = sorted(r["n"] for r in rows)
            if (
                sum(spread) == shards
                and len(spread) == opts.engines
                and spread[-1] - spread[0] <= 1
            ):
                break
        else:
            raise SystemExit(f"the shards were not spread over {opts.engines} engines: {spread}")
        assert conn is not None
        await asyncio.sleep(2.0)  # the last shard's consumer subscribes
        per_agent = opts.rate / 2
        extra: dict[str, dict[str, object]] = {"store": {}, "bus": {"shards": shards}, "agent": {}}
        ctx = multiprocessing.get_context("spawn")
        procs = [
            ctx.Process(
                target=agent_main,
                args=(
                    {
                        "port": broker.port,
                        "monitors": opts.monitors,
                        "prefix": prefix,
                        "location": loc,
                        "spool": str(workdir / f"spool-{loc}.db"),
                        "rate": per_agent,
                        "seconds": opts.seconds,
                        "extra": extra,
                    },
                ),
            )
            for loc in ("a", "b")
        ]
        expected = int(per_agent * opts.seconds) * 2
        cpu_before = [process_cpu(p.pid) for p in engines]
        load_before = os.getloadavg()
        started = time.time()
        for p in procs:
            p.start()
        polls: list[tuple[float, int]] = []
        deadline = time.monotonic() + opts.seconds + opts.grace
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            n = await conn.fetchval("SELECT count(*) FROM results")
            polls.append((time.time(), n))
            if n >= expected:
                break
        cpu = [process_cpu(p.pid) - c for p, c in zip(engines, cpu_before, strict=True)]
        load_after = os.getloadavg()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
        held = await conn.fetch(
            "SELECT owner, count(*) AS n FROM leases WHERE name LIKE 'shard/%' GROUP BY owner"
        )
        # The agents' first result: when creation began (they take a while to start).
        first_at = await conn.fetchval("SELECT min(at) FROM results")
        await conn.close()
    finally:
        for p in engines:
            p.terminate()
        for p in engines:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        broker.stop()
        await drop_pg_database(store_url)
    stored = polls[-1][1] if polls else 0
    first = next((t for t, n in polls if n > 0), started)
    last = next((t for t, n in polls if n >= stored), started)
    span = max(last - first, 1e-9)
    # The k-th result stored (at the first poll that counts k) against the k-th created
    # (at the agents' rate from their first result): a FIFO view, at the polls'
    # resolution.
    created_from = first_at.timestamp() if first_at is not None else started
    lat = []
    step = max(1, expected // 2000)
    i = 0
    for k in range(1, min(stored, expected) + 1, step):
        while polls[i][1] < k:
            i += 1
        lat.append(polls[i][0] - (created_from + k / opts.rate))
    lat.sort()
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else float("nan")
    rate = stored / span if stored >= expected else 0.0
    print(
        f"store=postgres, {opts.engines} engines ([cluster], {shards} shards, held "
        f"{sorted(int(r['n']) for r in held)}), target={opts.rate:.0f}/s for "
        f"{opts.seconds:.0f}s, {opts.monitors} monitors, 2 agents"
    )
    print(f"  expected {expected}, rows stored {stored}")
    print(f"  sustained {stored / span:,.0f} results/s (first to last stored, polled, {span:.1f}s)")
    print(
        f"  created->stored (k-th stored against k-th created, 0.25 s polls) p50 "
        f"{lat[len(lat) // 2] * 1000 if lat else float('nan'):.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    print(
        "  CPU per result per engine process: "
        + ", ".join(f"{c / max(stored, 1) * 1e6:.0f} us" for c in cpu)
        + f" (together {sum(cpu) / max(stored, 1) * 1e6:.0f} us)"
    )
    print(
        f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} cores)"
    )
    return {"results_per_s": rate, "p99_s": p99, "load": load_after[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--timeline", action="store_true", help="latency per second of creation time"
    )
    parser.add_argument(
        "--rate", type=float, default=10_000, help="results per second, both agents together"
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--warmup", type=float, default=5, help="seconds left out of steady state")
    parser.add_argument("--grace", type=float, default=30, help="seconds to wait for the backlog")
    parser.add_argument("--shards", type=int, help="[bus] shards (default: the config's)")
    parser.add_argument(
        "--drain",
        action="store_true",
        help="agents publish everything first, then the engine drains its session alone",
    )
    parser.add_argument("--batch-size", type=int, help="[agent] batch_size (default: the config's)")
    parser.add_argument(
        "--engines",
        type=int,
        default=0,
        help="N `slamon engine` processes with [cluster] enabled (PostgreSQL); 0: one "
        "engine in this process",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs; the best is recorded")
    parser.add_argument("--ledger", help="append the figures to this ledger file")
    parser.add_argument("--quick", action="store_true", help="a short run (for make bench)")
    parser.add_argument("--cluster", action="store_true", help="[cluster] enabled (postgres)")
    opts = parser.parse_args()
    if opts.quick:
        opts.seconds, opts.warmup, opts.grace, opts.runs = min(opts.seconds, 10), 3, 20, 1
    if opts.engines and opts.store != "postgres":
        parser.error("--engines needs --store postgres (the leases live there)")
    best: dict[str, float] | None = None
    for i in range(opts.runs):
        # uvloop, as `slamon engine` and `slamon agent` run.
        with (
            tempfile.TemporaryDirectory(prefix="slamon-bench-") as tmp,
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
        ):
            if opts.drain:
                runner.run(drain(opts, Path(tmp)))
                continue
            figures = runner.run((run_cluster if opts.engines else run)(opts, Path(tmp)))
        if opts.runs > 1:
            print(f"  run {i + 1} of {opts.runs}: {figures['results_per_s']:,.0f} results/s")
        if best is None or figures["results_per_s"] > best["results_per_s"]:
            best = figures
    if best is None:
        return
    name = f"ingest.{opts.store}" + (
        f".engines{opts.engines}" if opts.engines else ".cluster" if opts.cluster else ""
    )
    print(
        f"best of {opts.runs}: {best['results_per_s']:,.0f} results/s, p99 "
        f"{best['p99_s']:.2f} s (load average {best['load']:.2f})"
    )
    one_pg = opts.store == "postgres" and not opts.engines and not opts.cluster
    command = "bench/ingest.py " + " ".join(sys.argv[1:])
    record(
        opts.ledger,
        f"{name}.results_per_s",
        best["results_per_s"],
        unit="results/s",
        goal=">= 20000" if one_pg else None,
        better="higher",
        scales="rate",
        command=command,
    )
    record(
        opts.ledger,
        f"{name}.p99_s",
        best["p99_s"],
        unit="s",
        goal="<= 1" if one_pg else None,
        better="lower",
        scales="cpu",
        command=command,
    )


if __name__ == "__main__":
    main()
