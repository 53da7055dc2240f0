"""Push (heartbeat) monitors: config, the /push/<token> route, and the deadline watchdog."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from probes import push
from probes.push import Heartbeats, PushMonitor
from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from slamon.config.common import ConfigError
from slamon.config.load import parse_config
from slamon.web.push import PushService

TOKEN = "job-token-0123456789abcdef"


def config(tmp_path: Path, **monitor: object) -> dict[str, object]:
    return {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/push.db"},
        "monitors": [{"id": "nightly", "type": "push", "interval": "1h", **monitor}],
    }


def test_push_config_token_from_env_and_not_scheduled(tmp_path: Path) -> None:
    cfg = parse_config(config(tmp_path, token="${PUSH_TOKEN}", grace="10m"), {"PUSH_TOKEN": TOKEN})
    assert cfg.checks() == []
    [monitor] = cfg.push_monitors()
    assert (monitor.monitor_id, monitor.token, monitor.interval, monitor.grace) == (
        "nightly",
        TOKEN,
        3600,
        600,
    )
    assert not monitor.generated


def test_push_without_token_gets_a_random_one(tmp_path: Path) -> None:
    cfg = parse_config(config(tmp_path), {})
    a, b = cfg.push_monitors()[0], cfg.push_monitors()[0]
    assert a.generated and len(a.token) >= 32 and a.token != b.token


@pytest.mark.parametrize(
    ("monitor", "message"),
    [
        ({"token": "short"}, "monitors[0].token: must be at least 16 characters"),
        ({"target": "http://x/"}, "monitors[0].target: a push monitor has no target"),
        ({"token": TOKEN, "url": "x"}, "monitors[0].url: unknown key"),
    ],
    ids=["short-token", "has-target", "unknown-key"],
)
def test_push_config_errors(tmp_path: Path, monitor: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(config(tmp_path, **monitor), {})
    assert any(line.startswith(message) for line in err.value.errors), err.value.errors


def test_tokens_match_only_exactly() -> None:
    book = Heartbeats([PushMonitor("a", TOKEN, 60, 0), PushMonitor("b", TOKEN + "x", 60, 0)], 0)
    assert book.match(TOKEN) is not None and book.match(TOKEN).monitor_id == "a"  # type: ignore[union-attr]
    assert book.match(TOKEN[:-1]) is None
    assert book.match("") is None
    assert book.match("\udcff" * 20) is None


def test_deadlines_with_a_fake_clock() -> None:
    now = [1000.0]
    published: list[Result] = []
    service = PushService(
        [PushMonitor("job", TOKEN, 60, 30)],
        location="here",
        publish=published.append,
        clock=lambda: now[0],
    )
    now[0] += 89
    assert service.check_deadlines() == []
    now[0] += 2  # 91 s of silence: past interval + grace
    [late] = service.check_deadlines()
    assert (late.state, late.error, late.location) == (
        State.DOWN,
        ErrorClass.HEARTBEAT_MISSED,
        "here",
    )
    now[0] += 30
    assert service.check_deadlines() == []  # one missed heartbeat a interval, not a flood
    now[0] += 31
    assert len(service.check_deadlines()) == 1
    assert service.receive(TOKEN) is not None
    now[0] += 89
    assert service.check_deadlines() == []
    assert [r.state for r in published] == [State.DOWN, State.DOWN, State.UP]


def test_a_job_can_report_its_own_failure() -> None:
    published: list[Result] = []
    service = PushService(
        [PushMonitor("job", TOKEN, 60, 30)], location="l", publish=published.append
    )
    result = service.receive(TOKEN, down=True, message="backup failed: disk full", latency=1.5)
    assert result is not None
    assert (result.state, result.error, result.detail, result.latency) == (
        State.DOWN,
        ErrorClass.REPORTED_DOWN,
        "backup failed: disk full",
        1.5,
    )
    assert service.receive("wrong-token-0123456789") is None
    assert published == [result]


async def test_watchdog_task_reports_silence() -> None:
    published: list[Result] = []
    service = PushService(
        [PushMonitor("job", TOKEN, 0.2, 0.1)], location="l", publish=published.append
    )
    task = asyncio.create_task(service.watch())
    try:
        for _ in range(100):
            if published:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert published and published[0].error is ErrorClass.HEARTBEAT_MISSED


async def test_push_route_end_to_end(aiohttp_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from slamon.app import build_runtime, create_app

    cfg = parse_config(config(tmp_path, token=TOKEN), {})
    runtime = build_runtime(cfg)
    client = await aiohttp_client(create_app(runtime))

    async def latest() -> Result:
        for _ in range(100):
            result = runtime.engine.latest.get(("nightly", "local"))
            if result is not None:
                return result
            await asyncio.sleep(0.02)
        raise AssertionError("no result ingested")

    resp = await client.get(f"/push/{TOKEN}?ping=250")
    assert resp.status == 200
    assert (await resp.json())["state"] == "up"
    up = await latest()
    assert (up.state, up.latency) == (State.UP, 0.25)

    runtime.engine.latest.clear()
    resp = await client.post(f"/push/{TOKEN}?status=down&msg=exit%20code%203")
    assert resp.status == 200
    down = await latest()
    assert (down.state, down.error, down.detail) == (
        State.DOWN,
        ErrorClass.REPORTED_DOWN,
        "exit code 3",
    )

    assert (await client.get("/push/not-the-token-at-all")).status == 404
    assert (await client.get(f"/push/{TOKEN}?status=maybe")).status == 400
    assert (await client.get(f"/push/{TOKEN}?ping=fast")).status == 400


async def test_push_probe_is_never_meant_to_run() -> None:
    from probes.context import ProbeContext
    from probes.errors import ProbeError
    from probes.resources import ProbeResources

    ctx = ProbeContext("m", "l", 1, ProbeResources())
    with pytest.raises(ProbeError):
        await push.probe(ctx, "", push.Settings())
