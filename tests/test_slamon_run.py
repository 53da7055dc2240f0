"""``slamon run`` started as a user starts it: promises kept by the running process.

Each test writes a config.toml, starts ``python -m slamon run`` (web port 0: the kernel
picks it; these tests read what the process sends and stores, not its pages), and
stops it with SIGTERM as a service manager would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from probes.result import Result
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.store import migrate
from slamon.store.sql import Store
from slamon.store.writer import Writer

pytestmark = pytest.mark.slow

LISTEN = ("--host", "127.0.0.1", "--port", "0")


@contextlib.contextmanager
def slamon_run(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``slamon run --config config`` with its log in ``log``; SIGTERM at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "slamon", "run", "--config", str(config), *LISTEN],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def until(
    what: str, predicate: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, limit: float
) -> None:
    """Wait for ``predicate`` (polled every 20 ms), at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"slamon run exited ({proc.returncode}): {log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit}s; log:\n{log.read_text()}")
        await asyncio.sleep(0.02)


async def test_alertmanager_gets_firing_alerts_again_every_resend_interval(
    aiohttp_server, tmp_path: Path, refused_port: int
) -> None:  # type: ignore[no-untyped-def]
    resend, evaluation = 3.0, 1.0
    posts: dict[str, list[tuple[float, Any]]] = {}

    async def record(request: web.Request) -> web.Response:
        posts.setdefault(request.path, []).append((time.monotonic(), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    sink = await aiohttp_server(app)  # bound to port 0, its port read back
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
url = "sqlite+aiosqlite:///{tmp_path}/run.db"
flush_interval = "50ms"

[confirmation]
down_after = 1
up_after = 1

[alerts]
evaluation_interval = "{evaluation:g}s"
resend_interval = "{resend:g}s"

[[monitors]]
id = "gone"
type = "tcp"
target = "127.0.0.1:{refused_port}"
interval = "1s"

[[notifiers]]
id = "am"
type = "alertmanager"
url = "{sink.make_url("/am")}"

[[notifiers]]
id = "hook"
type = "webhook"
url = "{sink.make_url("/hook")}"
"""
    )
    log = tmp_path / "slamon.log"
    am = "/am/api/v2/alerts"
    with slamon_run(config, log) as proc:
        # The alert fires once, then comes again at each resend: wait for three resends.
        await until(
            "four posts to Alertmanager", lambda: len(posts.get(am, [])) >= 4, proc, log, 60
        )
        hook_posts = list(posts.get("/hook", []))

    received = posts[am][:4]
    bodies = [body for _, body in received]
    # The same firing alert each time: same labels, same start, no end.
    first = bodies[0]
    assert [a["labels"] for a in first] == [
        {"alertname": "SlamonMonitorDown", "severity": "critical", "monitor": "gone"}
    ]
    assert all(body == first for body in bodies), bodies
    assert "endsAt" not in first[0]
    # Resends come at evaluations at least resend_interval apart: never sooner (an
    # implementation resending at every evaluation would post every second), and no
    # later than one evaluation interval after they are due (plus slack for a loaded
    # machine, short of twice the interval).
    resends = [t for t, _ in received[1:]]
    gaps = [b - a for a, b in itertools.pairwise(resends)]
    assert len(gaps) == 2
    assert all(resend - 0.25 <= g <= resend + evaluation + 1.5 for g in gaps), gaps
    # The webhook is told once: it does not forget, so it gets no resends.
    assert len(hook_posts) == 1, hook_posts
    assert hook_posts[0][1]["status"] == "firing"


async def test_raw_results_past_the_configured_retention_are_pruned_at_start(
    tmp_path: Path, refused_port: int
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/run.db"
    now = datetime.now(UTC)
    retention = timedelta(hours=2)
    old = [
        Result("api", "local", now - retention - timedelta(minutes=10 + i), State.UP, 0.01)
        for i in range(7)
    ]
    kept = [
        Result("api", "local", now - retention + timedelta(minutes=10 + i), State.UP, 0.01)
        for i in range(5)
    ]
    store = Store.from_url(url)
    await migrate.upgrade(store.engine)
    writer = Writer(store)
    for r in old + kept:
        writer.add_result(r)
    await writer.flush()
    await store.close()

    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[store]
url = "{url}"
retention = "2h"

[[monitors]]
id = "api"
type = "tcp"
target = "127.0.0.1:{refused_port}"
interval = "1s"
"""
    )
    log = tmp_path / "slamon.log"
    with slamon_run(config, log) as proc:
        await until(
            "the pruning at start",
            lambda: "raw results older than the 7200s retention" in log.read_text(),
            proc,
            log,
            30,
        )
    found = re.search(r"pruned (\d+) raw results older than the 7200s retention", log.read_text())
    assert found is not None and int(found.group(1)) == len(old), log.read_text()

    store = Store.from_url(url)
    try:
        ids = {r.id for r in old + kept}
        assert await store.result_ids_exist(list(ids)) == {r.id for r in kept}
        # The hourly rollups keep counting the pruned results: availability and latency
        # history outlive the raw results. (A rollup is found by the start of its hour;
        # this run's own results are in the current hour, after the window.)
        window = Interval(now - timedelta(hours=4), now - timedelta(hours=1))
        assert sum(r.checks for r in await store.rollups(window)) == len(old) + len(kept)
    finally:
        await store.close()
