"""HTTP checks per second and CPU per check through slamon's whole pipeline.

Starts a local target (nginx from Debian's packages when installed, else an aiohttp
server in a separate process), then N HTTP monitors through the real scheduler, bus,
engine, writer, SQLite store and a /metrics render every few seconds, for a fixed
time. Prints checks per second, CPU milliseconds per check of this whole process,
scheduler lateness p50/p99 and peak RSS. When Debian's prometheus-blackbox-exporter
is installed, drives its /probe endpoint on the same target at the same rate and
prints its CPU per probe (from /proc/<pid>/stat) and the ratio.

    .venv/bin/python bench/probe_throughput.py --monitors 2000 --interval 1 --duration 30
    .venv/bin/python bench/probe_throughput.py --monitors 10000 --interval 5 --duration 60
    .venv/bin/python bench/probe_throughput.py --quick --ledger FILE   # for make bench

``--site off`` leaves the status site out (its rebuilds are bench/site_build.py's), to
tell its share of memory and lateness from the probing pipeline's.

Not a test: it asserts nothing, it prints figures. Run it on a quiet machine and
quote ``uptime`` next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

import aiohttp  # noqa: E402
import uvloop  # noqa: E402
from aiohttp import web  # noqa: E402
from ledger import record  # noqa: E402

from slamon.app import build_runtime, start, stop, tune_gc  # noqa: E402
from slamon.config.load import parse_config  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its reaped children's is not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _aiohttp_target(port: int) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok slamon\n")

    app = web.Application()
    app.router.add_get("/", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextlib.contextmanager
def target(kind: str) -> Iterator[tuple[str, str]]:
    """Yield (url, description) of a local HTTP target, stopped on exit."""
    port = free_port()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if kind in ("auto", "nginx") and nginx:
        with tempfile.TemporaryDirectory(prefix="slamon-bench-nginx-") as tmp:
            conf = Path(tmp) / "nginx.conf"
            conf.write_text(
                f"""worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok slamon\\n"; }} }}
}}
"""
            )
            proc = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp])
            try:
                wait_port(port)
                yield f"http://127.0.0.1:{port}/", "nginx (1 worker)"
            finally:
                proc.terminate()
                proc.wait(10)
        return
    if kind == "nginx":
        raise SystemExit("nginx is not installed (apt-get install nginx)")
    proc_ = multiprocessing.get_context("spawn").Process(target=_aiohttp_target, args=(port,))
    proc_.start()
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}/", "aiohttp server (separate process)"
    finally:
        proc_.terminate()
        proc_.join(10)


def _rss_parts() -> dict[str, float]:
    """This process's resident memory now by kind (MB): RssAnon (heap), RssFile (mapped)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("RssAnon", "RssFile", "RssShmem"):
            out[key] = int(rest.split()[0]) / 1024
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_slamon(args: argparse.Namespace, url: str, tmp: str) -> dict[str, float]:
    config = parse_config(
        {
            "store": {
                "url": f"sqlite+aiosqlite:///{tmp}/bench.db",
                **({"batch_size": args.batch_size} if args.batch_size else {}),
            },
            "scheduler": {"concurrency": args.concurrency},
            "confirmation": {"down_after": 2, "up_after": 1},
            "monitors": [
                {
                    "id": f"m{i:05d}",
                    "type": "http",
                    "target": url,
                    "interval": args.interval,
                    "timeout": min(args.interval, 5.0),
                }
                for i in range(args.monitors)
            ],
        },
        {},
    )
    runtime = build_runtime(config)
    if args.site == "off":
        # Without the status site (its rebuilds are measured by bench/site_build.py).
        if runtime.site is not None and runtime.site.worker is not None:
            runtime.site.worker.close()
        runtime.site = None
    lateness: list[float] = []
    measuring = False
    observe = runtime.scheduler_metrics.lateness.observe

    def on_lateness(seconds: float) -> None:
        observe(seconds)
        if measuring:
            lateness.append(seconds)

    runtime.scheduler._on_lateness = on_lateness  # the bench also wants raw values
    gc_pauses: list[tuple[int, float]] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif measuring:
            gc_pauses.append((info["generation"], time.perf_counter() - gc_started[0]))

    gc.callbacks.append(on_gc)
    tasks = await start(runtime)
    if args.gc == "tuned":
        tune_gc()
    scrapes = 0
    scrape_bytes = 0

    async def scrape_forever() -> None:
        nonlocal scrapes, scrape_bytes
        while True:
            await asyncio.sleep(args.scrape_every)
            # As the /metrics handler does: the per-monitor part in a thread.
            loop = asyncio.get_running_loop()
            live = runtime.live
            assert live is not None
            around = live.render_around(runtime.registry)
            scrape_bytes = len(await loop.run_in_executor(None, live.render_own, around))
            scrapes += 1

    lags: list[float] = []

    async def loop_lag() -> None:
        # How long the event loop was busy past a 10 ms sleep: what delays wake-ups.
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            if measuring:
                lags.append(loop.time() - before - 0.01)

    scraper = asyncio.create_task(scrape_forever())
    lagger = asyncio.create_task(loop_lag())
    try:
        await asyncio.sleep(args.warmup)
        measuring = True
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        n0 = runtime.engine.ingested
        w0 = runtime.writer.results_written
        await asyncio.sleep(args.duration)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        t1 = time.perf_counter()
        n1 = runtime.engine.ingested
        w1 = runtime.writer.results_written
        measuring = False
        rss_parts = _rss_parts()
        not_up = sum(1 for r in runtime.engine.latest.values() if r.state.value != "up")
        sample = next(iter(runtime.engine.latest.values()), None)
    finally:
        for task in (scraper, lagger):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await stop(runtime, tasks)
    checks = n1 - n0
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if sample is not None and sample.state.value != "up":
        print(f"  warning: a sample result is {sample.state}: {sample.error} {sample.detail}")
    return {
        "checks": checks,
        "seconds": t1 - t0,
        "rate": checks / (t1 - t0),
        "cpu_ms_per_check": cpu / max(checks, 1) * 1000,
        "cpu_share": cpu / (t1 - t0),
        "written_rate": (w1 - w0) / (t1 - t0),
        "lateness_p50_ms": percentile(lateness, 0.50) * 1000,
        "lateness_p99_ms": percentile(lateness, 0.99) * 1000,
        "lateness_max_ms": max(lateness, default=float("nan")) * 1000,
        "lag_p99_ms": percentile(lags, 0.99) * 1000,
        "lag_max_ms": max(lags, default=float("nan")) * 1000,
        "last_batch_ms": runtime.writer.last_batch_seconds * 1000,
        "gc_max_ms": max((p for _, p in gc_pauses), default=0.0) * 1000,
        "gc2": sum(1 for g, _ in gc_pauses if g == 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_anon_mb": rss_parts.get("RssAnon", 0.0),
        "rss_file_mb": rss_parts.get("RssFile", 0.0),
        "not_up": not_up,
        "skipped": runtime.scheduler_metrics.skipped._value.get(),
        "bus_dropped": runtime.bus.dropped,
        "store_dropped": runtime.writer.results_dropped,
        "scrapes": scrapes,
        "scrape_bytes": scrape_bytes,
    }


async def drive_blackbox(url: str, rate: float, duration: float, warmup: float) -> dict[str, float]:
    exe = shutil.which("prometheus-blackbox-exporter")
    assert exe is not None
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="slamon-bench-bb-") as tmp:
        conf = Path(tmp) / "blackbox.yml"
        conf.write_text("modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n")
        proc = subprocess.Popen(
            [exe, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            probe_url = f"http://127.0.0.1:{port}/probe?module=http_2xx&target={url}"
            failures = 0
            done = 0
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
                sem = asyncio.Semaphore(256)

                async def one() -> None:
                    nonlocal failures, done
                    async with sem, session.get(probe_url) as resp:
                        body = await resp.read()
                        done += 1
                        if b"probe_success 1" not in body:
                            failures += 1

                async def paced(seconds: float) -> int:
                    # Open loop at the given rate, like a scheduler: 10 ms ticks.
                    pending: set[asyncio.Task[None]] = set()
                    started = time.perf_counter()
                    sent = 0
                    while (now := time.perf_counter() - started) < seconds:
                        due = int(now * rate)
                        while sent < due:
                            task = asyncio.create_task(one())
                            pending.add(task)
                            task.add_done_callback(pending.discard)
                            sent += 1
                        await asyncio.sleep(0.01)
                    await asyncio.gather(*pending, return_exceptions=True)
                    return sent

                await paced(warmup)
                c0 = proc_cpu_seconds(proc.pid)
                d0 = done
                t0 = time.perf_counter()
                await paced(duration)
                t1 = time.perf_counter()
                c1 = proc_cpu_seconds(proc.pid)
                probes = done - d0
        finally:
            proc.terminate()
            proc.wait(10)
    return {
        "probes": probes,
        "rate": probes / (t1 - t0),
        "cpu_ms_per_probe": (c1 - c0) / max(probes, 1) * 1000,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds (at least 1)")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=None, help="default: 2 intervals")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--gc", choices=["tuned", "default"], default="tuned")
    parser.add_argument("--batch-size", type=int, default=None, help="store.batch_size")
    parser.add_argument("--scrape-every", type=float, default=5.0)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--target", choices=["auto", "nginx", "aiohttp"], default="auto")
    parser.add_argument("--no-blackbox", action="store_true")
    parser.add_argument(
        "--site", choices=["on", "off"], default="on", help="the status site's rebuilds"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="host name in the URL (localhost: resolve per check)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="for make bench: 10,000 monitors every 5s for 25s, blackbox for 8s (~90s)",
    )
    parser.add_argument("--ledger", default=None, help="append the figures to this file")
    args = parser.parse_args()
    command = "bench/probe_throughput.py " + " ".join(sys.argv[1:])
    blackbox_seconds = min(args.duration, 20)
    if args.quick:
        args.monitors, args.interval, args.duration = 10_000, 5.0, 25.0
        args.warmup = 8.0 if args.warmup is None else args.warmup
        blackbox_seconds = 8
    if args.warmup is None:
        args.warmup = max(2 * args.interval, 3.0)
    if args.loop == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average before {load[0]:.2f} {load[1]:.2f}")
    with target(args.target) as (url, what), tempfile.TemporaryDirectory() as tmp:
        print(
            f"target: {what} at {url}; {args.monitors} HTTP monitors every {args.interval:g}s "
            f"({args.monitors / args.interval:.0f} checks/s asked), {args.loop} loop, "
            f"SQLite store, /metrics rendered every {args.scrape_every:g}s"
        )
        s = asyncio.run(run_slamon(args, url.replace("127.0.0.1", args.host, 1), tmp))
        print(
            f"slamon: {s['rate']:.0f} checks/s over {s['seconds']:.1f}s "
            f"({s['checks']:.0f} checks, {s['written_rate']:.0f} results/s written), "
            f"CPU {s['cpu_ms_per_check']:.3f} ms/check ({s['cpu_share']:.0%} of a core), "
            f"lateness p50 {s['lateness_p50_ms']:.1f} ms p99 {s['lateness_p99_ms']:.1f} ms "
            f"max {s['lateness_max_ms']:.1f} ms, peak RSS {s['peak_rss_mb']:.0f} MB"
        )
        print(
            f"        RSS at the end of the measurement: {s['rss_anon_mb']:.0f} MB anonymous, "
            f"{s['rss_file_mb']:.0f} MB file-backed (SQLite's memory map, libraries)"
        )
        print(
            f"        not up at the end: {s['not_up']}, skipped wake-ups {s['skipped']:.0f}, "
            f"bus dropped {s['bus_dropped']}, store dropped {s['store_dropped']}, "
            f"{s['scrapes']} scrapes of {s['scrape_bytes'] / 1e6:.1f} MB"
        )
        print(
            f"        event-loop lag p99 {s['lag_p99_ms']:.1f} ms max {s['lag_max_ms']:.1f} ms, "
            f"last store batch {s['last_batch_ms']:.0f} ms, longest GC pause "
            f"{s['gc_max_ms']:.0f} ms ({s['gc2']:.0f} full collections)"
        )
        ratio = None
        if not args.no_blackbox and shutil.which("prometheus-blackbox-exporter"):
            b = asyncio.run(drive_blackbox(url, s["rate"], blackbox_seconds, 3))
            ratio = s["cpu_ms_per_check"] / b["cpu_ms_per_probe"]
            print(
                f"blackbox_exporter: {b['rate']:.0f} probes/s, CPU {b['cpu_ms_per_probe']:.3f} "
                f"ms/probe ({b['failures']} failed)"
            )
            print(f"ratio slamon/blackbox CPU per check: {ratio:.2f} (goal <= 0.5)")
        elif not args.no_blackbox:
            print("blackbox_exporter: not installed (apt-get install prometheus-blackbox-exporter)")
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.ledger:
        _record(args, s, ratio, command)


def _record(
    args: argparse.Namespace, s: dict[str, float], ratio: float | None, command: str
) -> None:
    """The figures in the ledger: probe_throughput.<monitors>[.nosite].<figure>."""
    prefix = f"probe_throughput.{args.monitors}" + (".nosite" if args.site == "off" else "")
    # The goals of issue 14 are set at 10,000 monitors every 5 s (RSS, lateness) and at
    # 2,000 every second and 10,000 every 5 s (the ratio to blackbox_exporter).
    at_10k = args.monitors >= 10_000
    figures: list[tuple[str, float, str, str | None, str]] = [
        ("rss_peak_mb", s["peak_rss_mb"], "MB", "<= 300" if at_10k else None, "none"),
        ("lateness_p99_ms", s["lateness_p99_ms"], "ms", "<= 100" if at_10k else None, "cpu"),
        ("cpu_per_check_ms", s["cpu_ms_per_check"], "ms", None, "cpu"),
    ]
    if ratio is not None:
        figures.append(("blackbox_ratio", ratio, "ratio", "<= 0.5", "none"))
    for name, value, unit, goal, scales in figures:
        record(
            args.ledger,
            f"{prefix}.{name}",
            value,
            unit=unit,
            goal=goal,
            better="lower",
            scales=scales,
            command=command,
        )


if __name__ == "__main__":
    main()
