"""The whole application in one process against a target the test turns down and up."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from pathlib import Path

from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.config.load import parse_config
from slamon.store.sql import Store
from slamon.web.keys import RUNTIME
from tests.conftest import Targets


async def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``predicate`` every 50 ms, at most ``timeout`` seconds."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", line)
        if m and m.group(1) == name and ",".join(sorted((m.group(2) or "").split(","))) == want:
            return float(m.group(3))
    raise AssertionError(f"{name}{{{want}}} not in /metrics")


async def test_outage_and_recovery_flow_through_everything(
    targets: Targets, aiohttp_client, tmp_path: Path, refused_port: int
) -> None:  # type: ignore[no-untyped-def]
    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/e2e.db", "flush_interval": "50ms"},
            "confirmation": {"down_after": 2, "up_after": 2},
            "statuspage": {
                "title": "E2E status",
                "refresh": "1s",
                "url": "https://status.example.test/",
            },
            "monitors": [
                {
                    "id": "api",
                    "name": "Public API",
                    "type": "http",
                    "target": targets.url("/toggle"),
                    "interval": "1s",
                    "timeout": "1s",
                },
                {
                    "id": "db",
                    "name": "Database",
                    "type": "tcp",
                    "target": targets.host_port,
                    "interval": "1s",
                },
                {
                    "id": "gone",
                    "name": "Gone",
                    "type": "tcp",
                    "target": f"127.0.0.1:{refused_port}",
                    "interval": "1s",
                    "public": False,
                },
            ],
        },
        {},
    )
    runtime = build_runtime(config)
    client = await aiohttp_client(create_app(runtime))
    engine = client.app[RUNTIME].engine
    store = runtime.store

    await wait_for(lambda: engine.state("api") is State.UP and engine.state("db") is State.UP)
    await wait_for(lambda: engine.state("gone") is State.DOWN)
    page = await (await client.get("/")).text()
    assert "All systems operational" in page  # "gone" is down, but not public
    assert re.search(r'id="component-api"><div class="h">[^\n]*class="s up"', page)
    assert "Gone" not in page and str(refused_port) not in page

    # Turn the target down: confirmed after two failed checks.
    targets.healthy = False
    await wait_for(lambda: engine.state("api") is State.DOWN)
    await runtime.writer.flush()
    started_before = runtime.scheduler.checks_started
    metrics = await (await client.get("/metrics")).text()
    started_after = runtime.scheduler.checks_started
    assert metric(metrics, "probe_success", monitor="api", location="local") == 0
    assert metric(metrics, "probe_http_status_code", monitor="api", location="local") == 503
    assert metric(metrics, "slamon_monitor_state", monitor="api", state="down") == 1
    assert metric(metrics, "slamon_monitor_state", monitor="api", state="up") == 0
    # One lateness sample per check started (checks go on while /metrics renders).
    lateness_count = metric(metrics, "slamon_scheduler_lateness_seconds_count")
    assert started_before <= lateness_count <= started_after
    assert started_before >= 6  # three monitors, at least two checks each by now
    page = await (await client.get("/")).text()
    assert re.search(r'id="component-api"><div class="h">[^\n]*class="s down"', page)
    assert "Major outage" in page
    summary = await (await client.get("/api/v2/summary.json")).json()
    assert {c["id"]: c["status"] for c in summary["components"]} == {
        "api": "major_outage",
        "db": "operational",
    }
    assert summary["status"]["indicator"] == "critical"
    # Let the outage last a little: two more failed checks of the target.
    seen = targets.hits["toggle"]
    await wait_for(lambda: targets.hits["toggle"] >= seen + 2)

    # Recover: confirmed after two good checks.
    targets.healthy = True
    await wait_for(lambda: engine.state("api") is State.UP)
    await runtime.writer.flush()

    now = datetime.now(UTC)
    history = (await store.intervals(Interval(now - timedelta(hours=1), now), ["api"]))["api"]
    assert [i.state for i in history] == [State.UP, State.DOWN, State.UP]
    up, down, up_again = history
    assert up.end == down.start and down.end == up_again.start
    # The outage starts at the first failing check of the run that confirmed it, and
    # ends at the first good check of the run that confirmed recovery.
    results = sorted(await store.recent_results("api", 200), key=lambda r: r.at)
    first_fail = next(r for r in results if r.state is State.DOWN)
    first_ok_after = next(r for r in results if r.at > first_fail.at and r.state is State.UP)
    assert down.start == first_fail.at
    assert down.end == first_ok_after.at
    assert all(r.state is State.DOWN for r in results if down.start <= r.at < down.end)

    metrics = await (await client.get("/metrics")).text()
    assert metric(metrics, "probe_success", monitor="api", location="local") == 1
    assert metric(metrics, "slamon_monitor_state", monitor="api", state="up") == 1

    page = await (await client.get("/")).text()
    asked = datetime.now(UTC)
    assert re.search(r'id="component-api"><div class="h">[^\n]*class="s up"', page)
    row = page.split('id="component-api"')[1].split("</li>")[0]
    day = re.search(r"([0-9.]+)% uptime", row)
    assert day is not None
    shown = Decimal(day.group(1))

    # Measured time runs from the first interval to the build's instant, which is not
    # known exactly: after the check that confirmed recovery began (the page shows the
    # monitor up) and before the page was asked for. The figure grows with it, so it
    # lies between the figures at those two instants, truncated as the page truncates.
    def uptime(at: datetime) -> Decimal:
        us = timedelta(microseconds=1)
        exact = 100 * (1 - Fraction((down.end - down.start) // us, (at - up.start) // us))
        return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal("0.001"), rounding=ROUND_DOWN
        )

    confirming = next(r for r in results if r.at > first_ok_after.at and r.state is State.UP)
    assert uptime(confirming.at) <= shown <= uptime(asked), (shown, uptime(confirming.at))

    api = await (await client.get("/api/v1/monitors")).json()
    assert {m["id"]: m["state"] for m in api["monitors"]} == {"api": "up", "db": "up"}
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "ok"


async def test_a_restart_within_the_silence_limit_leaves_no_unknown_gap(
    targets: Targets, aiohttp_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/restart.db", "flush_interval": "50ms"},
        "confirmation": {"down_after": 1, "up_after": 1},
        "monitors": [{"id": "api", "type": "http", "target": targets.url("/ok"), "interval": "1s"}],
    }
    runtime = build_runtime(parse_config(data, {}))
    client = await aiohttp_client(create_app(runtime))
    await wait_for(lambda: runtime.engine.state("api") is State.UP)
    await client.close()  # graceful stop: provisionally unknown after the last check

    runtime2 = build_runtime(parse_config(data, {}))
    client2 = await aiohttp_client(create_app(runtime2))
    # Resumed from the store, then measured again: the first check says it went on.
    await wait_for(lambda: "api" not in runtime2.engine.restored)
    await wait_for(lambda: runtime2.engine.state("api") is State.UP)
    await runtime2.writer.flush()
    now = datetime.now(UTC)
    history = (await runtime2.store.intervals(Interval(now - timedelta(hours=1), now)))["api"]
    assert [(i.state, i.end) for i in history] == [(State.UP, None)]
    assert runtime2.engine.revised >= 1  # the provisional unknown was taken back
    await client2.close()


async def test_a_restart_longer_than_the_silence_limit_is_unknown_from_the_last_check(
    targets: Targets, aiohttp_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/restart.db", "flush_interval": "50ms"},
        "confirmation": {"down_after": 1, "up_after": 1},
        "bus": {"silent_after": 1},
        "monitors": [{"id": "api", "type": "http", "target": targets.url("/ok"), "interval": "1s"}],
    }
    runtime = build_runtime(parse_config(data, {}))
    client = await aiohttp_client(create_app(runtime))
    await wait_for(lambda: runtime.engine.state("api") is State.UP)
    await client.close()
    store = Store.from_url(data["store"]["url"])
    last = (await store.recent_results("api", 1))[0].at
    await store.close()
    # Down for longer than the silence limit (one interval here).
    await asyncio.sleep(
        max(0.0, (last + timedelta(seconds=2.5) - datetime.now(UTC)).total_seconds())
    )

    runtime2 = build_runtime(parse_config(data, {}))
    client2 = await aiohttp_client(create_app(runtime2))
    await wait_for(lambda: "api" not in runtime2.engine.restored)
    await wait_for(lambda: runtime2.engine.state("api") is State.UP)
    await runtime2.writer.flush()
    first = min(r.at for r in await runtime2.store.recent_results("api", 50) if r.at > last)
    now = datetime.now(UTC)
    history = (await runtime2.store.intervals(Interval(now - timedelta(hours=1), now)))["api"]
    # Up to what the last check covered, unknown until the first check after the start.
    assert [(i.state, i.end) for i in history] == [
        (State.UP, last + timedelta(seconds=1)),
        (State.UP, None),
    ]
    assert history[1].start == first
    await client2.close()


async def test_after_a_restart_the_api_shows_the_last_known_state_as_such(
    targets: Targets, aiohttp_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/restart.db", "flush_interval": "50ms"},
        "confirmation": {"down_after": 1, "up_after": 1},
        "monitors": [{"id": "api", "type": "http", "target": targets.url("/ok"), "interval": "1s"}],
    }
    runtime = build_runtime(parse_config(data, {}))
    client = await aiohttp_client(create_app(runtime))
    await wait_for(lambda: runtime.engine.state("api") is State.UP)
    await client.close()
    # Started again, its first check hangs: nothing measured yet since the start.
    data["monitors"][0].update(target=targets.url("/hang"), interval="20s", timeout="20s")  # type: ignore[index]
    runtime2 = build_runtime(parse_config(data, {}))
    client2 = await aiohttp_client(create_app(runtime2))
    body = await (await client2.get("/api/v1/monitors")).json()
    assert body["monitors"][0]["state"] == "up"
    assert body["monitors"][0]["last_known"] is True
    assert runtime2.engine.state("api") is State.UNKNOWN  # provisionally, since the stop
    await client2.close()
