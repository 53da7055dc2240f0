"""Where the engine's time per result goes, stage by stage, without a broker.

bench/ingest.py measures the whole path (agents, broker, engine, store) and is noisy;
this one times each stage of the engine's side on the same prepared messages, so a
change to one stage can be measured on its own:

- ``decode``: validate wire messages into Results (``slamon.bus.wire.Decoder``), for
  single-result ``slamon.result/1`` messages and for ``slamon.results/2`` batches;
- ``handle``: the ingest path for batches as the MQTT client hands them over (decode,
  clock skew, the engine's confirmation and quorum, queueing for the writer);
- ``handle, 5% late``: the same with one result in twenty arriving after a later one of
  its location (put in its place, the location's history derived again);
- ``write``: the writer committing those results in batches (results, rollups) to
  SQLite and, when reachable, PostgreSQL.

Decode and handle are timed in CPU time (this process's), so other work on a shared
box slows them little; write is wall time (it waits for the database).

    .venv/bin/python bench/ingest_stages.py [--results 20000] [--monitors 1000] [--batch 250]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import create_pg_database, drop_pg_database  # bench/ingest.py

from probes.result import Result
from sla_engine.time.states import State
from slamon import app as slamon_app
from slamon.bus.mqtt import Message
from slamon.bus.wire import (
    Decoder,
    batch_envelope,
    encode_result,
    envelope,
    results_topic,
    shard_topic,
)
from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.store import migrate
from slamon.store.sql import Store

PREFIX = "stages/v1"


def make_config(monitors: int) -> Config:
    return parse_config(
        {
            "store": {"batch_size": 1000},
            "bus": {"kind": "mqtt", "topic_prefix": PREFIX, "locations": ["a", "b"]},
            "monitors": [
                {"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9", "interval": "30s"}
                for i in range(monitors)
            ],
        },
        {},
    )


def make_results(n: int, monitors: int, ago: float) -> list[Result]:
    start = datetime.now(UTC) - timedelta(seconds=ago)
    out = []
    for i in range(n):
        location = "ab"[i % 2]
        at = start + timedelta(microseconds=200 * i)
        out.append(
            Result(f"m{(i // 2) % monitors}", location, at, State.UP, 0.01 + (i % 50) / 1000)
        )
    return out


def make_singles(n: int, monitors: int, ago: float = 5.0) -> list[Message]:
    """slamon.result/1: one message per result."""
    out = []
    for i, r in enumerate(make_results(n, monitors, ago)):
        payload = envelope(encode_result(r), r.at + timedelta(milliseconds=2))
        out.append(
            Message(
                results_topic(PREFIX, r.location, r.monitor_id), payload, i % 65535 + 1, 1, False
            )
        )
    return out


def make_batches(n: int, monitors: int, batch: int, ago: float = 5.0) -> list[Message]:
    """slamon.results/2: each location's results in batches, in order (one shard)."""
    by_location: dict[str, list[Result]] = {}
    for r in make_results(n, monitors, ago):
        by_location.setdefault(r.location, []).append(r)
    out = []
    for location, results in by_location.items():
        for i in range(0, len(results), batch):
            part = results[i : i + batch]
            payload = batch_envelope(
                [encode_result(r) for r in part], part[-1].at + timedelta(milliseconds=2), 1
            )
            out.append(
                Message(shard_topic(PREFIX, location, 0), payload, len(out) % 65535 + 1, 1, False)
            )
    return out


def per_item(seconds: float, n: int) -> str:
    return f"{seconds / n * 1e6:7.1f} us/result  ({n / seconds:,.0f}/s)"


def time_decode(config: Config, messages: list[Message]) -> float:
    allowed = {m.id: frozenset(config.locations_for(m)) for m in config.monitors}
    decoder = Decoder(prefix=PREFIX, monitors=allowed, max_bytes=65536)
    started = time.process_time()
    for m in messages:
        decoder.decode(m.topic, m.payload)
    return time.process_time() - started


def some_late(messages: list[Message], every: int, by: int) -> list[Message]:
    """``messages`` with one in ``every`` delivered ``by`` places later (out of order)."""
    out = list(messages)
    for i in range(0, len(out) - by, every // 2):
        if (i // by) % 2 == 0:  # swapped pairs never overlap
            out[i], out[i + by] = out[i + by], out[i]
    return out


async def time_handle_and_write(
    config: Config, warmup: list[Message], messages: list[Message], n: int, url: str
) -> tuple[float, float]:
    store = Store.from_url(url)
    await migrate.upgrade(store.engine)
    # The engine, writer and ingest as `slamon engine` wires them; no task is started.
    runtime = slamon_app.build_runtime(config, store)
    writer, ingest = runtime.writer, runtime.ingest
    assert ingest is not None
    writer.max_pending = 10_000_000
    # Every monitor confirmed up at every location first: the state changes of the
    # first results (unknown -> up) are not the steady state.
    for m in warmup:
        ingest.handle(m)
    await writer.flush()
    written_before = writer.results_written
    # CPU time: on a shared machine the wall time also counts other processes' turns.
    started = time.process_time()
    for m in messages:
        ingest.handle(m)
    handled = time.process_time() - started
    assert ingest.internal_errors == 0, ingest.internal_errors
    assert not ingest.rejected, ingest.rejected
    started = time.perf_counter()
    await writer.flush()
    written = time.perf_counter() - started
    assert writer.results_written - written_before == n
    await store.close()
    return handled, written


async def pg_url() -> str | None:
    """A fresh database (bench/ingest.py's), or None when PostgreSQL is not reachable."""
    try:
        return await create_pg_database()
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"  PostgreSQL not reachable ({exc}); its figures are skipped")
        return None


async def main_async(opts: argparse.Namespace) -> None:
    config = make_config(opts.monitors)
    warmup = make_batches(opts.monitors * 2 * 3, opts.monitors, opts.batch, ago=30.0)
    singles = make_singles(opts.results, opts.monitors)
    messages = make_batches(opts.results, opts.monitors, opts.batch)
    n = opts.results
    print(
        f"{n} results ({len(messages)} batches of {opts.batch}), "
        f"{opts.monitors} monitors x 2 locations, best of {opts.repeat}"
    )
    gc.collect()
    best = min(time_decode(config, singles) for _ in range(opts.repeat))
    print(f"  decode /1 (CPU)   {per_item(best, n)}")
    best = min(time_decode(config, messages) for _ in range(opts.repeat))
    print(f"  decode /2 (CPU)   {per_item(best, n)}")
    with tempfile.TemporaryDirectory(prefix="slamon-stages-") as tmp:
        best_h = best_w = float("inf")
        for i in range(opts.repeat):
            h, w = await time_handle_and_write(
                config, warmup, messages, n, f"sqlite+aiosqlite:///{tmp}/s{i}.db"
            )
            best_h, best_w = min(best_h, h), min(best_w, w)
        print(f"  handle (CPU)      {per_item(best_h, n)}")
        print(f"  write (SQLite)    {per_item(best_w, n)}  wall")
        # Out of order: 20 monitors, so that each location has hundreds of results in
        # the engine's memory; one result in 20 arrives after the next of its location.
        few = make_config(20)
        late = some_late(make_singles(opts.results, 20), 20, 40)
        best_h = float("inf")
        for i in range(opts.repeat):
            h, _ = await time_handle_and_write(
                few,
                make_singles(20 * 2 * 3, 20, ago=30.0),
                late,
                opts.results,
                f"sqlite+aiosqlite:///{tmp}/l{i}.db",
            )
            best_h = min(best_h, h)
        print(f"  handle, 5% late   {per_item(best_h, opts.results)}  (single results)")
    url = await pg_url()
    if url is not None:
        try:
            best_w = float("inf")
            for _ in range(opts.repeat):
                _, w = await time_handle_and_write(config, warmup, messages, n, url)
                best_w = min(best_w, w)
                await drop_pg_database(url)
                url = await pg_url() or url
            print(f"  write (Postgres)  {per_item(best_w, n)}  wall")
        finally:
            await drop_pg_database(url)
    print(f"  load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=250, help="results per /2 message")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
