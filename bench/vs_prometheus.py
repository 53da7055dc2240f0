"""Benchmark: 30-day availability of N monitors, slamon's store beside Prometheus.

The same history (N monitors probed every 30 s for 30 days, with random outages whose
exact extent the generator knows) is written twice:

* to Prometheus: ``probe_success`` samples as OpenMetrics text, backfilled with
  ``promtool tsdb create-blocks-from openmetrics`` into a temporary data folder, then
  served by a private ``prometheus`` (Debian's) on a free port;
* to slamon's store (the real ``Store``, SQLite): the state intervals the engine would
  write, an outage from its first failing check to the first successful one.

Then it times, best of ``--repeat``, ``avg_over_time(probe_success[30d])`` through
Prometheus' HTTP API (evaluated at the window's end) against slamon's availability of
the same monitors over the same 30 days (``slamon.reports.availability.availability_of``:
``Store.state_durations`` summed in SQL, then ``availability_from_durations``), and
checks both answers against what the generator knows: Prometheus counts samples, so its
exact answer is the share of successful samples (compared to float rounding); slamon's
is time-weighted and compared exactly (``Fraction``). An outage still running at the
window's end is where the two differ.

Usage: python bench/vs_prometheus.py [-n 1000] [--days 30] [--quick] [--ledger FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from ledger import record  # noqa: E402

from sla_engine.accounting.availability import (  # noqa: E402
    Accounting,
    AccountingTerms,
    UnknownPolicy,
)
from sla_engine.time.intervals import Interval  # noqa: E402
from sla_engine.time.states import State  # noqa: E402
from slamon.reports.availability import availability_of  # noqa: E402
from slamon.store import migrate  # noqa: E402
from slamon.store.sql import IntervalChange, Store  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=UTC)
INTERVAL = 30  # seconds between checks
FLOAT_TOLERANCE = 1e-9  # Prometheus answers in float64
TERMS = AccountingTerms(accounting=Accounting.SECONDS, unknown=UnknownPolicy.UP)


class ToolMissing(RuntimeError):
    """promtool or prometheus is not installed."""


@dataclass(frozen=True, slots=True)
class Monitor:
    """One monitor's history: its phase and its outages as sample ranges [a, b)."""

    id: str
    phase: int  # seconds after the window's start of its first check (1..29)
    outages: tuple[tuple[int, int], ...]


def generate(n: int, samples: int, seed: int = 20261101) -> list[Monitor]:
    """N monitors with 0 to 6 outages each (1 check to 3 hours); one in 20 ends down."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        spans: list[tuple[int, int]] = []
        for _ in range(rng.randint(0, 6)):
            a = rng.randrange(samples)
            spans.append((a, min(samples, a + rng.randint(1, 360))))
        if i % 20 == 7:  # still down when the window ends
            a = samples - rng.randint(1, 200)
            spans.append((a, samples))
        merged: list[tuple[int, int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        out.append(Monitor(f"m{i:05d}", 1 + i % 29, tuple(merged)))
    return out


def exact_sample_share(m: Monitor, samples: int) -> Fraction:
    """What Prometheus should answer: successful checks over all checks."""
    return Fraction(samples - sum(b - a for a, b in m.outages), samples)


def exact_time_share(m: Monitor, start: datetime, end: datetime, samples: int) -> Fraction:
    """What slamon should answer: time up over the window, outages from check to check."""
    window_us = (end - start) // timedelta(microseconds=1)
    down_us = 0
    for a, b in m.outages:
        s = start + timedelta(seconds=m.phase + INTERVAL * a)
        e = end if b >= samples else start + timedelta(seconds=m.phase + INTERVAL * b)
        down_us += (e - s) // timedelta(microseconds=1)
    return 1 - Fraction(down_us, window_us)


def write_openmetrics(path: Path, monitors: list[Monitor], start: datetime, samples: int) -> int:
    """``probe_success`` of every monitor as OpenMetrics text; returns the sample count."""
    t0 = int(start.timestamp())
    with open(path, "w", encoding="ascii") as f:
        f.write("# HELP probe_success Whether the check succeeded.\n")
        f.write("# TYPE probe_success gauge\n")
        for m in monitors:
            values = bytearray(b"1") * samples
            for a, b in m.outages:
                values[a:b] = b"0" * (b - a)
            prefix = f'probe_success{{instance="{m.id}",job="bench"}} '
            base = t0 + m.phase
            text = values.decode()
            f.write("".join(f"{prefix}{text[k]} {base + INTERVAL * k}\n" for k in range(samples)))
        f.write("# EOF\n")
    return len(monitors) * samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tools() -> tuple[str, str]:
    """Paths of promtool and prometheus, or ToolMissing."""
    promtool, prometheus = shutil.which("promtool"), shutil.which("prometheus")
    if promtool is None or prometheus is None:
        raise ToolMissing("promtool and prometheus are needed (Debian package 'prometheus')")
    return promtool, prometheus


def backfill(promtool: str, text: Path, data: Path, days: int) -> None:
    # One block for the whole window (two at most, blocks are aligned): promtool reads
    # the input once per block, and 2 h blocks would mean 360 passes over gigabytes.
    hours = 24 * (days + 2)
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "-q",
         f"--max-block-duration={hours}h", str(text), str(data)],
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


class PrivatePrometheus:
    """A prometheus on a free port, serving the backfilled data folder, no scrapes."""

    def __init__(self, binary: str, data: Path, workdir: Path) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self.log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=36500d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--query.max-samples=500000000",
                "--query.timeout=10m",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready after {timeout} s")

    def query(self, promql: str, at: datetime) -> dict[str, float]:
        params = urllib.parse.urlencode({"query": promql, "time": f"{at.timestamp():.3f}"})
        with urllib.request.urlopen(self.url(f"/api/v1/query?{params}"), timeout=600) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"query failed: {body}")
        return {s["metric"]["instance"]: float(s["value"][1]) for s in body["data"]["result"]}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def slamon_store(db: Path, monitors: list[Monitor], start: datetime, samples: int) -> None:
    """The intervals the engine would write: up before the window, down from the first
    failing check to the first successful one (open when the window ends down)."""
    store = Store.from_url(f"sqlite+aiosqlite:///{db}")
    try:
        await migrate.upgrade(store.engine)
        changes = []
        for m in monitors:
            changes.append(IntervalChange(m.id, State.UP, start - timedelta(days=1)))
            for a, b in m.outages:
                changes.append(
                    IntervalChange(
                        m.id, State.DOWN, start + timedelta(seconds=m.phase + INTERVAL * a)
                    )
                )
                if b < samples:
                    at = start + timedelta(seconds=m.phase + INTERVAL * b)
                    changes.append(IntervalChange(m.id, State.UP, at))
        changes.sort(key=lambda c: c.at)
        for i in range(0, len(changes), 20_000):
            await store.write_batch([], changes[i : i + 20_000], {})
    finally:
        await store.close()


async def slamon_availability(
    db: Path, ids: list[str], window: Interval, repeat: int
) -> tuple[list[float], dict[str, Fraction]]:
    """Each monitor's 30-day availability from the store, timed ``repeat`` times."""
    store = Store.from_url(f"sqlite+aiosqlite:///{db}")
    times, answer = [], {}
    try:
        await store.state_durations(window, ids[:1])  # open the pool, as a service has it
        for _ in range(repeat):
            t0 = time.perf_counter()
            found = await availability_of(store, ids, window, TERMS)
            answer = {m: a.ratio for m, a in found.items()}
            times.append(time.perf_counter() - t0)
    finally:
        await store.close()
    return times, answer


def run(
    n: int, days: int = 30, repeat: int = 3, workdir: Path | None = None, log: Any = print
) -> dict[str, Any]:
    """Build both stores, time both queries, check both answers; the figures as a dict."""
    promtool, prometheus = tools()
    samples = days * 86400 // INTERVAL
    start = END - timedelta(days=days)
    window = Interval(start, END)
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="slamon-vs-prom-")) if workdir is None else workdir
    try:
        monitors = generate(n, samples)
        ids = [m.id for m in monitors]
        t0 = time.perf_counter()
        count = write_openmetrics(work / "history.om", monitors, start, samples)
        log(f"  OpenMetrics: {count:,} samples, "
            f"{(work / 'history.om').stat().st_size / 1e6:.0f} MB "
            f"in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        t0 = time.perf_counter()
        backfill(promtool, work / "history.om", work / "data", days)
        (work / "history.om").unlink()
        log(f"  promtool backfill: {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        asyncio.run(slamon_store(work / "slamon.db", monitors, start, samples))
        log(f"  slamon store: {time.perf_counter() - t0:.1f} s")
        server = PrivatePrometheus(prometheus, work / "data", work)
        try:
            server.wait_ready()
            promql = f"avg_over_time(probe_success[{days}d])"
            prom_times, prom = [], {}
            for _ in range(repeat):
                t0 = time.perf_counter()
                prom = server.query(promql, END)
                prom_times.append(time.perf_counter() - t0)
        finally:
            server.stop()
        slamon_times, ours = asyncio.run(
            slamon_availability(work / "slamon.db", ids, window, repeat)
        )
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    want_prom = {m.id: exact_sample_share(m, samples) for m in monitors}
    want_ours = {m.id: exact_time_share(m, start, END, samples) for m in monitors}
    prom_error = max(
        (abs(Fraction(prom[m]) - want_prom[m]) if m in prom else Fraction(1) for m in ids),
        default=Fraction(0),
    )
    return {
        "monitors": n,
        "days": days,
        "samples": n * samples,
        "prometheus_s": min(prom_times),
        "slamon_s": min(slamon_times),
        "ratio": min(slamon_times) / min(prom_times),
        "prometheus_exact": set(prom) == set(ids) and prom_error <= FLOAT_TOLERANCE,
        "prometheus_max_error": float(prom_error),
        "slamon_exact": ours == want_ours,
        "slamon_wrong": sum(1 for m in ids if ours.get(m) != want_ours[m]),
        "differ": sum(1 for m in ids if want_prom[m] != want_ours[m]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--monitors", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 monitors (about a minute)")
    parser.add_argument("--ledger", help="append figures to this ledger file")
    args = parser.parse_args(argv)
    n = 100 if args.quick else args.monitors
    command = f"bench/vs_prometheus.py {'--quick' if args.quick else f'-n {n}'}"
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print(f"{n} monitors, {args.days} days at {INTERVAL} s, window ending {END:%Y-%m-%d}")
    fig = run(n, args.days, args.repeat)
    print(
        f"Prometheus avg_over_time(probe_success[{args.days}d]): "
        f"best {fig['prometheus_s'] * 1000:.1f} ms; answers "
        f"{'exact' if fig['prometheus_exact'] else 'NOT exact'} as sample shares "
        f"(max error {fig['prometheus_max_error']:.1e})"
    )
    print(
        f"slamon Store.state_durations + availability: best {fig['slamon_s'] * 1000:.1f} ms; "
        f"answers {'exact' if fig['slamon_exact'] else 'NOT exact'} as time shares "
        f"({fig['slamon_wrong']} wrong); the two exact answers differ for "
        f"{fig['differ']} monitors (down when the window ends)"
    )
    print(f"ratio slamon / Prometheus: {fig['ratio']:.4f} (goal <= 0.05)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for name, value, unit, goal, better, scales in [
        ("prometheus_ms", fig["prometheus_s"] * 1000, "ms", None, "lower", "cpu"),
        ("slamon_ms", fig["slamon_s"] * 1000, "ms", None, "lower", "sqlite"),
        ("ratio", fig["ratio"], "ratio", "<= 0.05", "lower", "none"),
        ("exact", float(fig["prometheus_exact"] and fig["slamon_exact"]), "bool", ">= 1",
         "higher", "none"),
    ]:  # fmt: skip
        record(
            args.ledger,
            f"vs_prometheus.{name}",
            value,
            unit=unit,
            goal=goal,
            better=better,
            scales=scales,
            command=command,
        )


if __name__ == "__main__":
    main()
