"""Kills under load: two agents at ~1,000 results/s, the engine SIGKILLed twice, an agent once.

Real processes: ``slamon engine`` on a fresh PostgreSQL database (or SQLite), two
``slamon agent`` processes probing TCP targets (a port that accepts, and for every
tenth monitor a refused one) through a private Mosquitto. A quarter of the monitors
is checked from location a only, a quarter from b only, half from both (quorum 2 of
2); every check is every second, so the agents make about 1,000 results a second.

Along the run the engine is SIGKILLed and started again twice, and agent a is
SIGKILLed and started again (with its spool) once, dead for longer than the silence
limit. Then everything stops and what the engine stored is audited (tests/fleet.py):

- every result an agent spooled and sent is stored once: lost, duplicated;
- each monitor's stored intervals against its history derived from the stored
  results' own times: seconds of no data stored as up or down, seconds stored unknown
  where results say what it was, and the unknown seconds of the monitors whose agent
  stayed up (location b only), which must all be 0; the monitors at a only are unknown
  about as long as agent a was dead.

    .venv/bin/python bench/kills.py                  # PostgreSQL, 1,000 monitors, 60 s
    .venv/bin/python bench/kills.py --store sqlite --monitors 400 --seconds 45
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from ingest import create_pg_database, drop_pg_database  # bench/ingest.py

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.intervals import Interval
from slamon.store.sql import Store
from tests.brokers import PrivateBroker, unique_prefix
from tests.conftest import closed_port
from tests.fleet import (
    Fleet,
    MonitorSetup,
    TcpTarget,
    audit,
    describe,
    stored_count,
    write_config,
)

SILENT_AFTER = 3


def monitor_list(n: int, up: int, refused: int) -> list[dict[str, Any]]:
    quarter = n // 4
    layout = [("a", ["a"], quarter), ("b", ["b"], quarter), ("ab", ["a", "b"], n - 2 * quarter)]
    out = []
    for group, locations, count in layout:
        for i in range(count):
            out.append(
                {
                    "id": f"{group}{i:04d}",
                    "type": "tcp",
                    "target": f"127.0.0.1:{refused if i % 10 == 9 else up}",
                    "interval": "1s",
                    "timeout": "1s",
                    "locations": locations,
                }
            )
    return out


async def confirmed(port: int | None, count: int) -> bool:
    if port is None:  # the engine has not said where it serves yet
        return False
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/api/v1/monitors") as resp,
        ):
            body = await resp.json()
    except (aiohttp.ClientError, OSError, ValueError):
        return False
    states = [m["state"] for m in body["monitors"]]
    return len(states) == count and all(s in ("up", "down") for s in states)


async def until(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s")
        await asyncio.sleep(0.2)


def say(started: float, text: str) -> None:
    print(f"  {time.monotonic() - started:6.1f}s  {text}", flush=True)


async def run(opts: argparse.Namespace, workdir: Path) -> None:
    broker = PrivateBroker(workdir)
    broker.start()
    target = TcpTarget()
    await target.start()
    store_url = (
        f"sqlite+aiosqlite:///{workdir}/kills.db"
        if opts.store == "sqlite"
        else await create_pg_database()
    )
    run_id = unique_prefix().split("/")[0]
    mons = monitor_list(opts.monitors, target.port, closed_port())
    sections = {
        "store": {"url": store_url, "flush_interval": "100ms", "batch_size": 5000},
        "confirmation": {"down_after": 2, "up_after": 2},
        "scheduler": {"concurrency": 1000},
        "bus": {
            "kind": "mqtt",
            "port": broker.port,
            "topic_prefix": f"{run_id}/v1",
            "client_id": f"engine-{run_id}",
            "locations": ["a", "b"],
            "session_expiry": "5m",
            "silent_after": SILENT_AFTER,
        },
        "agent": {"client_id": f"agent-{run_id}-{{location}}", "spool_max": 10_000_000},
        # One small component: the status site is not what this measures.
        "components": [{"id": "b", "name": "B", "monitors": [mons[len(mons) // 4]["id"]]}],
    }
    fleet = Fleet(workdir, write_config(workdir / "kills.toml", sections, mons))
    store = Store.from_url(store_url)
    per_second = sum(len(m["locations"]) for m in mons)
    print(
        f"store={opts.store}, {len(mons)} monitors every 1s ({per_second} results/s), "
        f"{opts.seconds:.0f}s, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    t0 = time.monotonic()
    try:
        fleet.start_engine()
        await fleet.engine_connected()
        fleet.start_agent("a")
        fleet.start_agent("b")
        await until(lambda: confirmed(fleet.http_port, len(mons)), 120)
        window_start = datetime.now(UTC)
        say(t0, "every monitor confirmed: the window starts")
        count_start = await stored_count(store)
        t_window = time.monotonic()
        dead = 0.0
        plan = [
            (opts.seconds * 0.15, "kill engine"),
            (opts.seconds * 0.40, "kill agent a"),
            (opts.seconds * 0.70, "kill engine"),
        ]
        for at, what in plan:
            await asyncio.sleep(max(0.0, t_window + at - time.monotonic()))
            if what == "kill engine":
                fleet.kill_engine()
                say(t0, "engine SIGKILLed")
                await asyncio.sleep(1.0)
                fleet.start_engine()
                await fleet.engine_connected()
                say(t0, "engine started again and subscribed")
            else:
                fleet.kill_agent("a")
                killed = time.monotonic()
                say(t0, f"agent a SIGKILLed; dead for {opts.agent_dead:.0f}s")
                await asyncio.sleep(opts.agent_dead)
                fleet.start_agent("a")
                dead = time.monotonic() - killed
                say(t0, "agent a started again with its spool")
        await asyncio.sleep(max(0.0, t_window + opts.seconds - time.monotonic()))
        window_end = datetime.now(UTC)
        count_end = await stored_count(store)
        say(t0, "the window ends; agents stop in 2 s")
        await asyncio.sleep(2)
        fleet.stop_agent("a")
        fleet.stop_agent("b")
        before = -2
        while (now := await stored_count(store)) != before:
            before = now
            await asyncio.sleep(1.0)
        fleet.stop_engine()
        say(t0, "stopped; auditing")
        setups = [
            MonitorSetup(
                m["id"],
                tuple(m["locations"]),
                len(m["locations"]) // 2 + 1,
                1.0,
                ConfirmPolicy(down_after=2, up_after=2),
            )
            for m in mons
        ]
        result = await audit(
            store_url,
            setups,
            [fleet.spool("a"), fleet.spool("b")],
            silent_after=SILENT_AFTER,
            window=Interval(window_start, window_end),
        )
    finally:
        fleet.stop_all()
        await store.close()
        await target.close()
        broker.stop()
    groups = {
        "at a only": [m["id"] for m in mons if m["locations"] == ["a"]],
        "at b only (agent never killed)": [m["id"] for m in mons if m["locations"] == ["b"]],
        "at a and b": [m["id"] for m in mons if len(m["locations"]) == 2],
    }
    span = (window_end - window_start).total_seconds()
    print(f"window {span:.0f}s: {(count_end - count_start) / span:,.0f} results/s stored")
    lines = describe(result, groups)
    print(lines[0])
    print(
        f"no data stored as up/down: {result.total('nodata_as_known'):.3f} s; "
        f"unknown where results say: {result.total('unknown_with_data'):.3f} s; "
        f"another state than results say: {result.total('disagree'):.3f} s"
    )
    at_b = groups["at b only (agent never killed)"]
    print(f"unknown for monitors whose agent stayed up: {result.total('unknown', at_b):.3f} s")
    at_a = groups["at a only"]
    print(
        f"agent a dead {dead:.1f}s (kill to restart); monitors at a only unknown "
        f"{result.total('unknown', at_a) / max(len(at_a), 1):.1f}s each on average "
        "(until the first check after its start-up)"
    )
    print("per group:")
    for line in lines[1:]:
        if not line.startswith("  "):
            print(f"  {line}")
    if opts.store == "postgres":
        await drop_pg_database(store_url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--monitors", type=int, default=667, help="1,000 results/s at 667")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--agent-dead", type=float, default=8, help="seconds agent a is dead")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slamon-kills-") as tmp:
        asyncio.run(run(opts, Path(tmp)))


if __name__ == "__main__":
    main()
