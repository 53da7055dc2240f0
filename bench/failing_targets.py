"""RSS of a real ``slamon run`` probing 22 misbehaving targets every second.

The targets are tests/hostile_servers.py's, served by another process: refused
ports, resets, answers that are not HTTP, a one-megabyte header, endless redirects,
servers that never answer or trickle, TLS with a self-signed, expired, untrusted or
wrong-host certificate, plain text where TLS was expected, a DNS NXDOMAIN. Every check
fails. ``slamon run`` tunes the cyclic collector (``gc.freeze()``, threshold 50,000),
so whatever a failed check leaves in reference cycles piles up between collections:
RSS after the first minute shows it. Goal: it grows less than 10 MB over 5 minutes.

    .venv/bin/python bench/failing_targets.py                 # 300 s
    .venv/bin/python bench/failing_targets.py --quick         # 90 s, for make bench

Prints RSS at 60 s, at the end, the growth between and the peak after 60 s, with the
load average; ``--ledger FILE`` records them. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger import record  # noqa: E402

_SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/")
MONITORS = 22


def monitors(ports: dict[str, int], dns_port: int) -> list[dict[str, object]]:
    """The 22 failing monitors: (id, type, target, extra settings)."""

    def url(scheme: str, name: str, host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{ports[name]}/"

    def hp(name: str) -> str:
        return f"127.0.0.1:{ports[name]}"

    items: list[tuple[str, str, str, dict[str, object]]] = [
        ("http-refused", "http", url("http", "refused"), {}),
        ("http-reset", "http", url("http", "reset"), {}),
        ("http-not-http", "http", url("http", "garbage"), {}),
        ("http-1mb-header", "http", url("http", "huge_header"), {}),
        ("http-redirect-forever", "http", url("http", "redirect_forever"), {}),
        ("http-never-answers", "http", url("http", "silent"), {}),
        ("http-trickle", "http", url("http", "trickle"), {}),
        ("http-endless-body", "http", url("http", "endless_body"), {"keyword": "needle"}),
        ("https-self-signed", "http", url("https", "tls_self_signed", "localhost"), {}),
        ("https-wrong-host", "http", url("https", "tls_wrong_host", "localhost"), {}),
        ("https-expired", "http", url("https", "tls_expired", "localhost"), {}),
        ("https-untrusted-ca", "http", url("https", "tls_good", "localhost"), {}),
        ("https-not-tls", "http", url("https", "garbage"), {}),
        ("tcp-refused", "tcp", hp("refused"), {}),
        ("tcp-reset-before-expect", "tcp", hp("reset"), {"expect": "220"}),
        ("tcp-expect-never-answers", "tcp", hp("silent"), {"expect": "220"}),
        ("tcp-tls-self-signed", "tcp", hp("tls_self_signed"), {"tls": True}),
        ("tls-self-signed", "tls", hp("tls_self_signed"), {"server_name": "localhost"}),
        ("tls-wrong-host", "tls", hp("tls_wrong_host"), {"server_name": "localhost"}),
        ("tls-expired", "tls", hp("tls_expired"), {"server_name": "localhost"}),
        ("tls-not-tls", "tls", hp("garbage"), {}),
        ("dns-nxdomain", "dns", "nxdomain.example.", {"server": "127.0.0.1", "port": dns_port}),
    ]
    assert len(items) == MONITORS
    return [
        {"id": i, "type": kind, "target": target, "interval": "1s", "timeout": "800ms", **extra}
        for i, kind, target, extra in items
    ]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def config_text(tmp: Path, items: list[dict[str, object]]) -> str:
    database = f"sqlite+aiosqlite:///{tmp / 'slamon.db'}"
    lines = [
        "[server]",
        'host = "127.0.0.1"',
        "port = 0",
        "[store]",
        f"url = {json.dumps(database)}",
        "[scheduler]",
        'location = "bench"',
    ]
    for item in items:
        lines.append("[[monitors]]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(duration: float, sample_every: float = 5.0) -> dict[str, float]:
    """Start the targets and ``slamon run``; sample RSS for ``duration`` seconds."""
    with tempfile.TemporaryDirectory(prefix="slamon-failing-") as tmpdir:
        tmp = Path(tmpdir)
        servers = subprocess.Popen(
            [sys.executable, "-m", "tests.hostile_servers", "--ca-pem", str(tmp / "ca.pem")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        slamon: subprocess.Popen[bytes] | None = None
        try:
            assert servers.stdout is not None
            started = json.loads(servers.stdout.readline() or "{}")
            if not started:
                raise RuntimeError("the hostile servers did not start")
            config = tmp / "config.toml"
            config.write_text(config_text(tmp, monitors(started["ports"], started["dns"])))
            log_path = tmp / "slamon.log"
            with log_path.open("wb") as log:
                slamon = subprocess.Popen(
                    [sys.executable, "-m", "slamon", "run", "-c", str(config), "--port", "0"],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            deadline = time.monotonic() + 60
            while not _SERVING.search(log_path.read_text(errors="replace")):
                if slamon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slamon did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            t0 = time.monotonic()
            samples: list[tuple[float, float]] = []
            while (elapsed := time.monotonic() - t0) < duration:
                if slamon.poll() is not None:
                    raise RuntimeError(f"slamon exited:\n{log_path.read_text()[-2000:]}")
                samples.append((elapsed, rss_mb(slamon.pid)))
                print(f"  {elapsed:6.0f} s  RSS {samples[-1][1]:7.1f} MB", flush=True)
                time.sleep(min(sample_every, max(duration - elapsed, 0.05)))
            samples.append((time.monotonic() - t0, rss_mb(slamon.pid)))
            cpu = cpu_seconds(slamon.pid)
        finally:
            if slamon is not None and slamon.poll() is None:
                slamon.terminate()
                try:
                    slamon.wait(20)
                except subprocess.TimeoutExpired:
                    slamon.kill()
                    slamon.wait(5)
            assert servers.stdin is not None
            assert servers.stdout is not None
            servers.stdin.close()
            servers.stdout.close()
            try:
                servers.wait(10)
            except subprocess.TimeoutExpired:
                servers.kill()
                servers.wait(5)
    minute = min(samples, key=lambda s: abs(s[0] - 60.0))[1]
    later = [rss for t, rss in samples if t >= 60.0] or [samples[-1][1]]
    return {
        "rss_at_60s_mb": minute,
        "rss_end_mb": samples[-1][1],
        "rss_growth_mb": samples[-1][1] - minute,
        "rss_peak_after_60s_mb": max(later),
        "seconds": samples[-1][0],
        "cpu_seconds": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--quick", action="store_true", help="90 s instead of 300 s")
    parser.add_argument("--ledger", default=None, help="append the figures to this file")
    args = parser.parse_args()
    duration = 90.0 if args.quick else args.duration
    load_before = os.getloadavg()
    print(f"{MONITORS} failing monitors at 1 s through slamon run for {duration:.0f} s")
    figures = run(duration)
    load_after = os.getloadavg()
    checks = MONITORS * figures["seconds"]
    print(
        f"RSS at 60 s {figures['rss_at_60s_mb']:.1f} MB, at {figures['seconds']:.0f} s "
        f"{figures['rss_end_mb']:.1f} MB: grew {figures['rss_growth_mb']:+.1f} MB after the "
        f"first minute (peak {figures['rss_peak_after_60s_mb']:.1f} MB; goal < 10 MB over "
        f"5 min); CPU {figures['cpu_seconds']:.1f} s, about {checks:.0f} checks"
    )
    loads = " ".join(f"{x:.2f}" for x in load_before), " ".join(f"{x:.2f}" for x in load_after)
    print(f"load average before {loads[0]}, after {loads[1]}")
    command = "bench/failing_targets.py" + (
        " --quick" if args.quick else f" --duration {duration:g}"
    )
    record(
        args.ledger,
        "failing_targets.rss_growth_after_1min_mb",
        round(figures["rss_growth_mb"], 1),
        unit="MB",
        goal="< 10",
        better="lower",
        scales="none",
        command=command,
    )
    record(
        args.ledger,
        "failing_targets.rss_end_mb",
        round(figures["rss_end_mb"], 1),
        unit="MB",
        better="lower",
        scales="none",
        command=command,
    )


if __name__ == "__main__":
    main()
