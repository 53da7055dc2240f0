"""Alerts survive a restart: nothing fires twice, a resolve that happened while down is sent.

`slamon run` is a real subprocess; the webhook receiver and the target are real servers.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import Targets
from tests.receivers import HttpReceiver
from tests.slamon_process import SlamonProcess, eventually, metric

pytestmark = pytest.mark.slow

TOKEN = "restart-admin-token-0123456789"


def statuses(hook: HttpReceiver) -> list[str]:
    return [b["status"] for b in hook.bodies.get("/hook", [])]


async def test_restart_with_an_alert_firing(
    targets: Targets, aiohttp_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    hook = HttpReceiver()
    receiver = await aiohttp_server(hook.app())
    db = tmp_path / "alerts.db"
    cfg = tmp_path / "slamon.toml"
    cfg.write_text(
        f"""
[server]
admin_token = "{TOKEN}"
[store]
url = "sqlite+aiosqlite:///{db}"
flush_interval = "50ms"
[confirmation]
down_after = 1
up_after = 1
[[monitors]]
id = "api"
type = "http"
target = "{targets.url("/toggle")}"
interval = "1s"
timeout = "1s"
[[notifiers]]
id = "hook"
type = "webhook"
url = "{receiver.make_url("/hook")}"
"""
    )
    log = tmp_path / "slamon.log"
    targets.healthy = False
    p = await SlamonProcess.start(cfg, log)
    try:

        async def fired() -> bool:
            return statuses(hook) == ["firing"]

        await eventually(fired, what="the firing notification")
        started = time.monotonic()
        p.signal(signal.SIGTERM)
        assert await p.wait(10) == 0
        assert time.monotonic() - started < 10

        # Still down at the restart: the alert is active again, and not fired again.
        p = await SlamonProcess.start(cfg, log)

        async def down_again() -> bool:
            body = await p.get_json("/api/v1/monitors")
            return body["monitors"][0]["state"] == "down"

        await eventually(down_again, what="down confirmed after the restart")
        alerts = await p.get_json("/api/v1/admin/alerts", TOKEN)
        assert [a["labels"]["alertname"] for a in alerts["alerts"]] == ["SlamonMonitorDown"]
        text = await p.metrics()
        assert metric(text, "slamon_alerts_fired_total") == 0
        assert metric(text, "slamon_notifier_queue_depth", notifier="hook", type="webhook") == 0
        assert metric(text, "slamon_notifier_sent_total", notifier="hook", type="webhook") == 0
        assert statuses(hook) == ["firing"]
        assert await p.stop() == 0

        # It recovers while slamon is down: the resolve is sent after the next start.
        targets.healthy = True
        p = await SlamonProcess.start(cfg, log)

        async def resolved() -> bool:
            return statuses(hook) == ["firing", "resolved"]

        await eventually(resolved, what="the resolve after the restart")
        alerts = await p.get_json("/api/v1/admin/alerts", TOKEN)
        assert alerts["alerts"] == []
        assert await p.stop() == 0
    finally:
        await p.stop()
    firing, resolve = hook.bodies["/hook"]
    assert firing["fingerprint"] == resolve["fingerprint"]
    assert resolve["startsAt"] == firing["startsAt"] and resolve["endsAt"] is not None
    # Every message in the outbox was delivered and marked so.
    with sqlite3.connect(db) as conn:
        rows = list(conn.execute("SELECT key, sent_at FROM notification_outbox ORDER BY key"))
        assert [r[0].split(":")[2] for r in rows] == ["firing", "resolved"]
        assert all(sent is not None for _, sent in rows)
        assert list(conn.execute("SELECT * FROM active_alerts")) == []
