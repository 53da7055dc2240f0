"""Live reload of a running `slamon run`: SIGHUP and POST /-/reload apply a difference.

The process is real (a subprocess on port 0); its targets are real servers here.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import Targets
from tests.slamon_process import SlamonProcess, eventually, metric

pytestmark = pytest.mark.slow

TOKEN = "reload-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def config_text(db: Path, monitors: list[str], contract_target: str) -> str:
    return "\n".join(
        [
            "[server]",
            f'admin_token = "{TOKEN}"',
            "[store]",
            f'url = "sqlite+aiosqlite:///{db}"',
            'flush_interval = "50ms"',
            "[confirmation]",
            "down_after = 1",
            "up_after = 1",
            "[statuspage]",
            'refresh = "1s"',
            *monitors,
            "[[contracts]]",
            'id = "acme"',
            'customer = "ACME"',
            'customer_id = "C-1"',
            'monitors = ["keep"]',
            f'target = "{contract_target}"',
            'unknown = "exclude"',
            'monthly_fee = "100.00"',
            'currency = "EUR"',
            'tiers = [{ below = "99", credit_percent = 10 }]',
        ]
    )


def http_monitor(monitor_id: str, url: str, name: str = "", interval: str = "1s") -> str:
    return (
        f'[[monitors]]\nid = "{monitor_id}"\nname = "{name or monitor_id}"\n'
        f'type = "http"\ntarget = "{url}"\ninterval = "{interval}"'
    )


async def states(p: SlamonProcess) -> dict[str, dict[str, Any]]:
    body = await p.get_json("/api/v1/monitors")
    return {m["id"]: m for m in body["monitors"]}


def intervals(db: Path, monitor_id: str) -> list[tuple[str, int, int | None]]:
    with sqlite3.connect(db) as conn:
        return list(
            conn.execute(
                "SELECT state, start_at, end_at FROM state_intervals WHERE monitor_id = ? "
                "ORDER BY start_at",
                (monitor_id,),
            )
        )


async def test_sighup_applies_a_difference_and_an_invalid_edit_changes_nothing(
    targets: Targets, tmp_path: Path
) -> None:
    db = tmp_path / "reload.db"
    cfg = tmp_path / "slamon.toml"
    cfg.write_text(
        config_text(
            db,
            [
                http_monitor("keep", targets.url("/ok")),
                http_monitor("change", targets.url("/ok")),
                http_monitor("drop", targets.url("/fail")),
            ],
            "99.9",
        )
    )
    p = await SlamonProcess.start(cfg, tmp_path / "slamon.log")
    try:

        async def settled() -> bool:
            s = await states(p)
            return (s["keep"]["state"], s["change"]["state"], s["drop"]["state"]) == (
                "up",
                "up",
                "down",
            )

        await eventually(settled, what="first states")
        before = await states(p)
        keep_intervals = intervals(db, "keep")
        assert [i[0] for i in keep_intervals] == ["up"] and keep_intervals[0][2] is None

        # Add one, change one's target, remove one, rename one, change the contract.
        cfg.write_text(
            config_text(
                db,
                [
                    http_monitor("keep", targets.url("/ok"), name="Kept, renamed"),
                    http_monitor("change", targets.url("/fail")),
                    '[[monitors]]\nid = "new"\ntype = "tcp"\n'
                    f'target = "{targets.host_port}"\ninterval = "1s"',
                ],
                "99.5",
            )
        )
        reload_at = datetime.now(UTC)
        p.signal(signal.SIGHUP)

        async def applied() -> bool:
            s = await states(p)
            return set(s) == {"keep", "change", "new"} and (
                s["change"]["state"],
                s["new"]["state"],
            ) == ("down", "up")

        await eventually(applied, what="the reloaded monitors")
        after = await states(p)
        # The unchanged check kept its state, its since and its open interval.
        assert after["keep"]["state"] == "up"
        assert after["keep"]["since"] == before["keep"]["since"]
        assert after["keep"]["name"] == "Kept, renamed"
        assert intervals(db, "keep") == keep_intervals

        # The removed monitor's open interval was closed at the reload.
        async def dropped_closed() -> bool:
            rows = intervals(db, "drop")
            return bool(rows) and all(end is not None for _, _, end in rows)

        await eventually(dropped_closed, what="drop's interval closed")
        closed_at = intervals(db, "drop")[-1][2]
        assert closed_at is not None
        reload_us = int(reload_at.timestamp() * 1_000_000)
        assert reload_us <= closed_at < reload_us + 10_000_000

        text = await p.metrics()
        assert metric(text, "slamon_config_last_reload_successful") == 1
        digest = hashlib.sha256(cfg.read_bytes()).hexdigest()
        assert metric(text, "slamon_config_info", hash=digest) == 1
        assert metric(text, "probe_success", monitor="drop", location="local") is None
        period = datetime.now(UTC).strftime("%Y-%m")
        report = await p.get_json(f"/api/v1/reports/availability?period={period}", TOKEN)
        assert report["contracts"][0]["target_percent"] == "99.5"

        # An invalid edit: everything keeps running, the metric says 0, the log says where.
        good_success_at = metric(text, "slamon_config_last_reload_success_timestamp_seconds")
        cfg.write_text(
            config_text(db, [http_monitor("keep", targets.url("/ok"), interval="soon")], "99.5")
        )
        p.signal(signal.SIGHUP)

        async def refused() -> bool:
            return metric(await p.metrics(), "slamon_config_last_reload_successful") == 0

        await eventually(refused, what="the failed reload")
        assert "monitors[0].interval: expected a duration" in p.log()
        text = await p.metrics()
        assert metric(text, "slamon_config_info", hash=digest) == 1
        assert (
            metric(text, "slamon_config_last_reload_success_timestamp_seconds") == good_success_at
        )
        assert set(await states(p)) == {"keep", "change", "new"}

        # POST /-/reload says the same, with the admin token only.
        async with aiohttp.ClientSession() as s:
            async with s.post(p.url("/-/reload")) as r:
                assert r.status == 401
            async with s.post(p.url("/-/reload"), headers=AUTH) as r:
                assert r.status == 400
                body = await r.json()
                assert any(e.startswith("monitors[0].interval:") for e in body["errors"])
            # Fixed again: the reload over HTTP applies it.
            cfg.write_text(config_text(db, [http_monitor("keep", targets.url("/ok"))], "99.5"))
            async with s.post(p.url("/-/reload"), headers=AUTH) as r:
                assert r.status == 200, await r.text()
                body = await r.json()
                assert body["removed"] == ["change", "new"]
        assert metric(await p.metrics(), "slamon_config_last_reload_successful") == 1
        assert set(await states(p)) == {"keep"}
        assert (await states(p))["keep"]["since"] == before["keep"]["since"]
        assert p.proc.poll() is None
    finally:
        code = await p.stop()
    assert code == 0, p.log()[-3000:]
