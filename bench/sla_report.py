"""Benchmark: finance reports over a year of synthetic history, and long-term storage.

Builds, in SQLite and through the real store (Store.write_batch, the call the Writer
makes), 12 months of history for N monitors: a few outages per monitor per month
(1 to 5, 1 to 90 minutes), a maintenance interval for one monitor in ten each month,
and now and then a gap without data. Monitors form components of ten; each contract
covers one component (a few cover a single monitor with a latency SLI, whose hourly
rollups are written from results). Then it times:

* one month's credit report for all contracts (goal <= 2 s);
* one contract over 12 months (goal <= 100 ms);
* long-term storage: healthy monitors probed every 30 s for two days through the
  Writer, raw results pruned as retention would, then the bytes of what remains
  (rollups and intervals) per monitor per day (goal <= 2 KB), read from SQLite's dbstat.

Usage: python bench/sla_report.py [--monitors 10000] [--contracts 1000] [--db PATH]
    [--quick] [--ledger FILE]
A database built before is reused when --db names it (building takes minutes).
``--quick`` (for ``make bench``): 1,000 monitors, 100 contracts, one run each, the
storage part with 10 monitors; about a minute. ``--ledger FILE`` appends the figures
(bench/ledger.py).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ledger import record  # noqa: E402

from probes.result import Result  # noqa: E402
from sla_engine.reports.report import evaluate_contract  # noqa: E402
from sla_engine.time.states import State  # noqa: E402
from slamon.config.load import parse_config  # noqa: E402
from slamon.config.model import Config  # noqa: E402
from slamon.reports.entries import report_entries  # noqa: E402
from slamon.reports.finalize import (  # noqa: E402
    build_report,
    cyclic_gc_paused,
    settle_startup,
)
from slamon.reports.gather import gather_evidence, select_contracts  # noqa: E402
from slamon.reports.render import render_csv, render_json  # noqa: E402
from slamon.store import migrate  # noqa: E402
from slamon.store.sql import IntervalChange, Store  # noqa: E402
from slamon.store.writer import Writer  # noqa: E402

START = datetime(2025, 11, 1, tzinfo=UTC)  # 12 months: 2025-11 .. 2026-10
MONTHS = [f"{2025 + (10 + i) // 12}-{(10 + i) % 12 + 1:02d}" for i in range(12)]
NOW = datetime(2026, 11, 15, tzinfo=UTC)
ZONES = ["UTC", "Europe/Oslo", "America/New_York", "Asia/Tokyo", "Europe/London"]
LATENCY_EVERY = 50  # one contract in 50 is a latency SLI on one monitor


def config_data(monitors: int, contracts: int, url: str) -> dict[str, Any]:
    mon = {"type": "http", "target": "http://127.0.0.1/"}
    tiers = [
        {"below": "99.95", "credit_percent": 10},
        {"below": "99.9", "credit_percent": 25},
        {"below": "99", "credit_percent": 50},
    ]
    out: dict[str, Any] = {
        "store": {"url": url},
        "monitors": [{"id": f"m{i:05d}", **mon} for i in range(monitors)],
        "components": [
            {
                "id": f"c{i:04d}",
                "name": f"C{i}",
                "monitors": [f"m{i * 10 + k:05d}" for k in range(10)],
            }
            for i in range(monitors // 10)
        ],
        "contracts": [],
    }
    accountings = ["seconds", "minutes_any", "minutes_full"]
    for i in range(contracts):
        base = {
            "id": f"k{i:04d}",
            "customer": f"Customer {i}",
            "customer_id": f"C-{i:05d}",
            "target": "99.95",
            "timezone": ZONES[i % len(ZONES)],
            "accounting": accountings[i % 3],
            "min_downtime_minutes": 5 if i % 3 == 2 else 0,
            "maintenance": "exclude_from_total",
            "unknown": ["exclude", "down", "up"][i % 3],
            "tiers": tiers,
            "credit_cap_percent": "50",
            "monthly_fee": f"{1000 + i}.50",
            "currency": ["EUR", "USD", "NOK", "JPY"][i % 4],
        }
        if i % LATENCY_EVERY == LATENCY_EVERY - 1:
            base.update(
                sli="latency",
                monitors=[f"m{(i % (monitors // 10)) * 10:05d}"],
                percentile="95",
                latency_limit="300ms",
                accounting="seconds",
                min_downtime_minutes=0,
            )
        else:
            base["components"] = [f"c{i % (monitors // 10):04d}"]
        out["contracts"].append(base)
    return out


def history(monitors: int, rng: random.Random) -> list[IntervalChange]:
    """Interval changes for every monitor over 12 months, in time order."""
    changes = [
        IntervalChange(f"m{i:05d}", State.UP, START - timedelta(days=1)) for i in range(monitors)
    ]
    events: list[IntervalChange] = []
    for i in range(monitors):
        mid = f"m{i:05d}"
        for month in range(12):
            base = START + timedelta(days=30.4 * month)
            spans: list[tuple[datetime, datetime, State]] = []
            for _ in range(rng.randint(1, 5)):
                at = base + timedelta(seconds=rng.randrange(29 * 86400))
                spans.append((at, at + timedelta(seconds=rng.randint(60, 90 * 60)), State.DOWN))
            if i % 10 == month % 10:
                at = base + timedelta(days=rng.randrange(28), hours=2)
                spans.append((at, at + timedelta(hours=2), State.MAINTENANCE))
            if rng.random() < 0.1:
                at = base + timedelta(seconds=rng.randrange(29 * 86400))
                spans.append((at, at + timedelta(minutes=rng.randint(5, 30)), State.UNKNOWN))
            spans.sort()
            last_end = base
            for s, e, state in spans:
                if s < last_end:
                    continue  # keep one monitor's spans disjoint
                events.append(IntervalChange(mid, state, s))
                events.append(IntervalChange(mid, State.UP, e))
                last_end = e
    events.sort(key=lambda c: c.at)
    return changes + events


def latency_results(monitor_ids: list[str], rng: random.Random) -> list[Result]:
    """Six results an hour for each latency monitor: enough to fill each hourly rollup."""
    out = []
    hours = int((NOW - START) / timedelta(hours=1))
    for mid in monitor_ids:
        for h in range(hours):
            at = START + timedelta(hours=h)
            for k in range(6):
                out.append(
                    Result(
                        mid,
                        "local",
                        at + timedelta(minutes=10 * k),
                        State.UP,
                        rng.lognormvariate(-2, 0.6),
                    )
                )
    return out


async def upgrade(db: Path) -> None:
    store = Store.from_url(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate.upgrade(store.engine)
    finally:
        await store.close()


async def build(db: Path, monitors: int, contracts: int) -> None:
    rng = random.Random(20261115)
    store = Store.from_url(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate.upgrade(store.engine)
        changes = history(monitors, rng)
        t0 = time.perf_counter()
        for i in range(0, len(changes), 20_000):
            await store.write_batch([], changes[i : i + 20_000], {})
            print(f"  intervals: {min(i + 20_000, len(changes))}/{len(changes)} changes", end="\r")
        print(f"\n  {len(changes)} interval changes in {time.perf_counter() - t0:.0f} s")
        data = config_data(monitors, contracts, "sqlite://")
        lat = sorted(
            {m for c in data["contracts"] if c.get("sli") == "latency" for m in c["monitors"]}
        )
        results = latency_results(lat, rng)
        t0 = time.perf_counter()
        for i in range(0, len(results), 20_000):
            await store.write_batch(results[i : i + 20_000], [], {})
        await store.prune_results(NOW)
        print(
            f"  {len(results)} results (rollups of {len(lat)} latency monitors) "
            f"in {time.perf_counter() - t0:.0f} s"
        )
    finally:
        await store.close()


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


async def reports(db: Path, config: Config, repeat: int) -> dict[str, float]:
    store = Store.from_url(f"sqlite+aiosqlite:///{db}")
    try:
        month = MONTHS[-1]
        times, cpu, renders = [], [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            report = await build_report(config, store, "credits", month, NOW)
            t1 = time.perf_counter()
            body = render_json(report)
            times.append(time.perf_counter() - t0)
            renders.append(time.perf_counter() - t1)
            cpu.append(time.process_time() - c0)
        warm = times[1:] or times
        print(
            f"one month ({month}), all {len(report.entries)} contracts, credits report + JSON "
            f"({len(body) / 1e6:.1f} MB): cold (first run) {times[0]:.2f} s, warm best "
            f"{min(warm):.2f} s, median {statistics.median(times):.2f} s "
            f"(goal <= 2 s); CPU best {min(cpu):.2f} s; load {os.getloadavg()[0]:.2f}"
        )
        # Finance reads these bytes: a change that makes the report faster must not
        # change them (compare with the figure printed before the change).
        print(
            f"  JSON sha256 {hashlib.sha256(body.encode()).hexdigest()}, "
            f"CSV sha256 {hashlib.sha256(render_csv(report).encode()).hexdigest()}"
        )
        month_times = times
        contracts = select_contracts(config)
        t0 = time.perf_counter()
        with cyclic_gc_paused():  # as build_report does
            found = await gather_evidence(config, store, contracts, month, NOW)
            t1 = time.perf_counter()
            t2 = time.perf_counter()
            reports_ = [evaluate_contract(c, period, ev, NOW) for c, period, ev in found]
            t3 = time.perf_counter()
            await report_entries(store, reports_, "credits")
        t4 = time.perf_counter()
        json_s = min(renders[1:] or renders)
        print(
            f"  where the time goes (a warm run): gathering the evidence {t1 - t0:.2f} s "
            f"(SQL reads, combining components), evaluating {t3 - t2:.2f} s, "
            f"rendering {t4 - t3 + json_s:.2f} s "
            f"(entries with their digests {t4 - t3:.2f} s, JSON {json_s:.2f} s)"
        )
        one = contracts[0].id
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            span = f"{MONTHS[0]}..{MONTHS[-1]}"
            await build_report(config, store, "credits", span, NOW, contract_id=one)
            times.append(time.perf_counter() - t0)
        print(
            f"one contract ({one}) over 12 months (one report of 12 periods): "
            f"best {min(times) * 1000:.0f} ms, "
            f"median {statistics.median(times) * 1000:.0f} ms (goal <= 100 ms)"
        )
        return {"month_s": min(month_times), "year_one_ms": min(times) * 1000}
    finally:
        await store.close()


async def storage(path: Path, monitors: int = 50, days: int = 2, *, compact: bool = True) -> float:
    """Healthy monitors every 30 s for ``days`` through the Writer, then prune raw results."""
    rng = random.Random(7)
    store = Store.from_url(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate.upgrade(store.engine)
        writer = Writer(store, batch_size=5000)
        start = datetime(2026, 10, 1, tzinfo=UTC)
        for m in range(monitors):
            await store.write_batch([], [IntervalChange(f"s{m:03d}", State.UP, start)], {})
        # A healthy endpoint: its own base latency, 15 % jitter, and one slow answer in 50.
        base = [rng.uniform(0.02, 0.3) for _ in range(monitors)]
        for step in range(days * 2880):
            at = start + timedelta(seconds=30 * step)
            for m in range(monitors):
                latency = base[m] * rng.lognormvariate(0, 0.15)
                if rng.random() < 0.02:
                    latency *= rng.uniform(2, 5)
                writer.add_result(Result(f"s{m:03d}", "local", at, State.UP, latency))
            if writer.pending >= 5000:
                await writer.flush()
        await writer.flush()
        # What the app's pruning task does once the retention has passed.
        cutoff = start + timedelta(days=days + 1)
        await store.prune_results(cutoff)
        if compact:
            await store.compact_rollups(cutoff)
    finally:
        await store.close()
    con = sqlite3.connect(path)
    try:
        con.execute("VACUUM")
        sizes = dict(con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        rows = con.execute("SELECT COUNT(*), SUM(LENGTH(sketch)) FROM rollups").fetchone()
        packed = con.execute("SELECT COUNT(*), SUM(LENGTH(hours)) FROM rollup_days").fetchone()
    finally:
        con.close()
    # What grows with monitors and days once raw results are gone: rollups (hourly and
    # packed), state intervals, and their indexes (a primary key is an index too).
    # Other tables (incidents, maintenance, ...) hold a page each whatever the count.
    grows = ("rollups", "rollup_days", "state_intervals", "ix_intervals_")
    kept = {
        k: v
        for k, v in sizes.items()
        if k.startswith(grows)
        or k.startswith(("sqlite_autoindex_rollup", "sqlite_autoindex_state"))
    }
    per = sum(kept.values()) / (monitors * days)
    print(
        f"long-term storage: {monitors} healthy monitors x {days} days at 30 s, "
        "raw results pruned: "
        f"{per:.0f} bytes per monitor per day (goal <= 2048) "
        f"[{'packed days' if compact else 'hourly rows'}]; hourly rows {rows[0]}, "
        f"packed day rows {packed[0]} ({(packed[1] or 0) / max(packed[0], 1):.0f} bytes each); "
        + ", ".join(f"{k} {v}" for k, v in sorted(kept.items()))
    )
    return per


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--contracts", type=int, default=1000)
    parser.add_argument("--db", help="SQLite file to build or reuse")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-storage", action="store_true")
    parser.add_argument("--skip-reports", action="store_true")
    parser.add_argument("--storage-monitors", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="1,000 monitors, 100 contracts")
    parser.add_argument("--ledger", help="append the figures to this ledger file")
    args = parser.parse_args()
    if args.quick:
        args.monitors, args.contracts, args.repeat, args.storage_monitors = 1000, 100, 1, 10
    command = "bench/sla_report.py" + (
        " --quick" if args.quick else f" --monitors {args.monitors} --contracts {args.contracts}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="slamon-bench-"))
    db = Path(args.db) if args.db else tmp / "history.db"
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    if not args.skip_reports:
        if not db.exists():
            print(f"building {db}: {args.monitors} monitors, 12 months")
            asyncio.run(build(db, args.monitors, args.contracts))
        else:
            asyncio.run(upgrade(db))  # a database kept from an older schema
        url = f"sqlite+aiosqlite:///{db}"
        config = parse_config(config_data(args.monitors, args.contracts, url), {})
        settle_startup()  # as `slamon report` does once its config is loaded
        fig = asyncio.run(reports(db, config, args.repeat))
        full = args.contracts == 1000 and args.monitors == 10_000
        record(
            args.ledger,
            f"sla_report.month_{args.contracts}_contracts_s",
            fig["month_s"],
            unit="s",
            goal="<= 2" if full else None,
            scales="sqlite",
            command=command,
        )
        record(
            args.ledger,
            "sla_report.one_contract_12_months_ms",
            fig["year_one_ms"],
            unit="ms",
            goal="<= 100",
            scales="sqlite",
            command=command,
        )
    if not args.skip_storage:
        n = args.storage_monitors
        asyncio.run(storage(tmp / "hourly.db", n, compact=False))
        per = asyncio.run(storage(tmp / "storage.db", n))
        record(
            args.ledger,
            # Small runs carry a few pages of fixed overhead per table: no goal for them.
            f"sla_report.storage_{n}_monitors_bytes_per_monitor_day",
            per,
            unit="B",
            goal="<= 2048" if n >= 100 else None,
            scales="none",
            command=command,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
