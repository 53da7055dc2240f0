"""Run every bench in its quick mode and write the ledger ``bench/results/<date>-<commit>.json``.

Each bench runs as its own subprocess (its own process group, so a timeout ends its
servers too) with ``--ledger <lines file>``; a bench that is absent, fails or runs out
of time is listed under ``"missing"`` with the reason, never fatal to the others. The
machine calibration (``ledger.calibration()``) is measured before and after the benches
and the faster of the two kept: the figures can then be compared with other days and
machines (bench/compare.py).

    .venv/bin/python bench/run_all.py                  # what `make bench` runs
    .venv/bin/python bench/run_all.py --only failing_targets sla_report
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from ledger import calibration  # noqa: E402


@dataclass(frozen=True)
class Bench:
    """One run of one bench script: its quick-mode arguments and how long it may take."""

    name: str
    script: str
    args: tuple[str, ...] = ()
    without_quick: tuple[str, ...] = ()
    """Arguments used instead of ``--quick`` when the script has no such option.

    A script without ``--ledger`` is not run at all: its figures could not be kept."""
    timeout: float = 180.0
    env: dict[str, str] = field(default_factory=dict)


BENCHES = (
    Bench(
        "probe_throughput[2000@1s]",
        "probe_throughput.py",
        ("--monitors", "2000", "--interval", "1"),
        ("--duration", "30"),
        timeout=180,
    ),
    Bench(
        "probe_throughput[10000@5s]",
        "probe_throughput.py",
        ("--monitors", "10000", "--interval", "5"),
        ("--duration", "30"),
        timeout=200,
    ),
    Bench("failing_targets", "failing_targets.py", timeout=160),
    Bench("sla_report", "sla_report.py", (), ("--repeat", "1"), timeout=180),
    Bench("statuspage", "site_build.py", (), ("--runs", "2"), timeout=150),
    Bench("vs_prometheus", "vs_prometheus.py", timeout=180),
    Bench("ingest[postgres]", "ingest.py", ("--store", "postgres"), ("--seconds", "10"), 150),
    Bench("failover", "failover.py", timeout=150),
)


def short_commit() -> tuple[str, bool]:
    """The HEAD commit (short) and whether the work tree differs from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
    ).stdout.strip()
    return head or "unknown", bool(dirty)


def options(script: Path) -> str:
    """The script's ``--help`` text (empty when it cannot say)."""
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--help"],
            cwd=ROOT,
            capture_output=True,
            check=False,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return ""
    return done.stdout


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """End the bench and whatever it started (its own process group)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_one(bench: Bench, lines: Path) -> tuple[list[dict[str, object]], str | None, float]:
    """Run ``bench``; its figures, why it is missing (None when it ran), seconds taken."""
    script = BENCH / bench.script
    if not script.exists():
        return [], f"bench/{bench.script} does not exist", 0.0
    help_text = options(script)
    if "--ledger" not in help_text:
        # Its figures could not be recorded: not worth minutes of the ten make bench has.
        return [], f"bench/{bench.script} has no --ledger option (not run)", 0.0
    args = [*bench.args, *(("--quick",) if "--quick" in help_text else bench.without_quick)]
    args += ["--ledger", str(lines)]
    command = [sys.executable, str(script), *args]
    print(f"\n=== {bench.name}: {' '.join(['bench/' + bench.script, *args])}", flush=True)
    started = time.monotonic()
    log = lines.with_suffix(".log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **bench.env},
        )
        try:
            rc: int | None = proc.wait(bench.timeout)
        except subprocess.TimeoutExpired:
            rc = None
            _end_group(proc)
    took = time.monotonic() - started
    text = log.read_text(errors="replace")
    print(text[-4000:], end="" if text.endswith("\n") else "\n", flush=True)
    figures = (
        [json.loads(line) for line in lines.read_text().splitlines() if line.strip()]
        if lines.exists()
        else []
    )
    why = None
    if rc is None:
        why = f"timed out after {bench.timeout:.0f} s"
    elif rc != 0:
        tail = [line for line in text.strip().splitlines() if line.strip()][-1:] or [""]
        why = f"exit status {rc}: {tail[0][:300]}"
    elif not figures:
        why = "ran but recorded no figure"
    print(f"=== {bench.name}: {took:.0f} s" + (f", MISSING: {why}" if why else ""), flush=True)
    return figures, why, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="bench names to run (default: all)")
    parser.add_argument("--out", default=str(BENCH / "results"), help="where the ledger goes")
    args = parser.parse_args()
    chosen = [
        b
        for b in BENCHES
        if not args.only or b.name.split("[")[0] in args.only or b.name in args.only
    ]
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    print(
        f"calibrating (load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f})"
    )
    samples = [calibration()]
    print(f"calibration: {samples[0]}", flush=True)
    figures: list[dict[str, object]] = []
    missing: list[dict[str, str]] = []
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="slamon-bench-") as tmp:
        for i, bench in enumerate(chosen):
            lines = Path(tmp) / f"{i:02d}.lines"
            got, why, took = run_one(bench, lines)
            figures.extend({**line, "run": bench.name} for line in got)
            timings[bench.name] = round(took, 1)
            if why is not None:
                missing.append({"bench": bench.name, "why": why})
    samples.append(calibration())
    load_after = os.getloadavg()
    commit, dirty = short_commit()
    ledger = {
        "date": started.date().isoformat(),
        "started": started.isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": dirty,
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
        },
        "calibration": {k: min(s[k] for s in samples) for k in samples[0]},
        "calibration_samples": samples,
        "seconds": timings,
        "figures": figures,
        "missing": missing,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{ledger['date']}-{commit}.json"
    path.write_text(json.dumps(ledger, indent=1) + "\n")
    print(
        f"\nwrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
        f"{len(figures)} figures, {len(missing)} missing, {sum(timings.values()):.0f} s of benches"
    )
    for item in missing:
        print(f"  missing {item['bench']}: {item['why']}")


if __name__ == "__main__":
    main()
