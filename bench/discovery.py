"""Ten thousand monitors from a Prometheus file_sd file: load them, apply them, edit one.

    .venv/bin/python bench/discovery.py [--targets 10000] [--runs 5]

Writes a config with one ``[[discovery]]`` source (an http template) and a file_sd
file of N targets in 100 groups into a temporary folder, then times, as the median of
``--runs``:

- ``cold load``: read and validate the config and the file into N monitors (a fresh
  ConfigSource: what `slamon run` does at start);
- ``apply N``: hand them to a running process built from an empty config (engine,
  scheduler, operations, status page, metrics: what a reload does with N new monitors);
- ``edit one``: rewrite the file with one target replaced, re-read it (the watcher's
  path: the file changed) and apply the difference;
- ``unchanged``: re-read with nothing changed (a periodic refresh).

Wall and CPU time of this process are printed beside a calibration (a fixed
pure-Python loop), so figures from a shared, busy machine can be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from slamon.app import build_runtime
from slamon.discovery.source import ConfigSource
from slamon.reload import apply


def calibrate() -> float:
    t = time.process_time()
    n = 0
    for i in range(3_000_000):
        n += i % 7
    return time.process_time() - t


def write_targets(path: Path, n: int, replaced: int | None = None) -> None:
    groups = []
    for g in range(100):
        targets = []
        for i in range(g, n, 100):
            host = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
            if i == replaced:
                host = "10.255.255.255"
            targets.append(f"{host}:8080")
        groups.append({"targets": targets, "labels": {"job": f"job{g}", "env": "prod"}})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups))
    os.replace(tmp, path)


def write_config(folder: Path) -> Path:
    cfg = folder / "slamon.toml"
    cfg.write_text(
        f"""
[store]
url = "sqlite+aiosqlite:///{folder}/bench.db"
[[discovery]]
id = "edge"
kind = "file_sd"
files = ["targets/*.json"]
[discovery.template]
type = "http"
target = "http://{{target}}/healthz"
name = "{{job}} {{target}}"
interval = "30s"
keyword = "ok"
"""
    )
    return cfg


async def timed(fn: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    await fn()
    return time.perf_counter() - w, time.process_time() - c


async def one_run(folder: Path, n: int) -> dict[str, tuple[float, float]]:
    cfg = write_config(folder)
    sd = folder / "targets" / "edge.json"
    write_targets(sd, n)
    out = {}
    source = ConfigSource(cfg)
    holder: dict[str, object] = {}

    async def cold() -> None:
        holder["config"] = source.load()

    out["cold load"] = await timed(cold)
    config = holder["config"]
    assert len(config.monitors) == n  # type: ignore[attr-defined]
    empty = ConfigSource(cfg)
    empty_config = empty.load().model_copy(update={"monitors": []})
    runtime = build_runtime(empty_config)
    out["apply N"] = await timed(lambda: apply(runtime, config, datetime.now(UTC)))  # type: ignore[arg-type]
    assert len(runtime.scheduler.checks) == n
    write_targets(sd, n, replaced=n // 2)

    async def edit() -> None:
        new = source.rediscover()
        outcome = await apply(runtime, new, datetime.now(UTC))
        assert len(outcome.added) == 1, outcome
        assert len(outcome.removed) == 1, outcome

    out["edit one"] = await timed(edit)

    async def unchanged() -> None:
        assert source.rediscover().monitors == runtime.config.monitors

    out["unchanged"] = await timed(unchanged)
    await runtime.store.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    cal = []
    for _ in range(args.runs):
        cal.append(calibrate())
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "targets").mkdir()
            runs.append(await one_run(Path(d), args.targets))
    print(f"{args.targets} discovered monitors, median of {args.runs} runs")
    print(f"calibration (3M-iteration Python loop): {statistics.median(cal) * 1000:.0f} ms CPU")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for stage in runs[0]:
        wall = statistics.median(r[stage][0] for r in runs)
        cpu = statistics.median(r[stage][1] for r in runs)
        print(f"  {stage:<10} {wall * 1000:8.0f} ms wall  {cpu * 1000:8.0f} ms CPU")


if __name__ == "__main__":
    asyncio.run(main())
