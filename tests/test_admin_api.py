"""Admin API and `slamon incident` CLI: the timeline, acknowledgement, exclusion, maintenance."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sla_engine.incidents import Impact
from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.config.load import parse_config

AUTH = {"Authorization": "Bearer adm"}


def config_data(tmp_path: Path) -> dict[str, object]:
    return {
        "server": {"admin_token": "adm"},
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/admin.db", "flush_interval": "50ms"},
        "monitors": [
            # Never probed during the test: a minute-long interval on a closed port.
            {"id": "api", "type": "tcp", "target": "127.0.0.1:9", "interval": "10m"},
        ],
        "components": [{"id": "web", "name": "Website", "monitors": ["api"]}],
        "alerts": {"evaluation_interval": "1h"},
    }


@pytest.fixture
async def admin(aiohttp_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    runtime = build_runtime(parse_config(config_data(tmp_path), {}))
    client = await aiohttp_client(create_app(runtime))
    client.runtime = runtime
    return client


async def test_admin_needs_the_token(admin) -> None:  # type: ignore[no-untyped-def]
    assert (await admin.get("/api/v1/admin/incidents")).status == 401
    resp = await admin.get("/api/v1/admin/incidents", headers={"Authorization": "Bearer x"})
    assert resp.status == 401


async def test_incident_timeline_through_the_api(admin) -> None:  # type: ignore[no-untyped-def]
    ops = admin.runtime.ops
    opened = datetime.now(UTC) - timedelta(minutes=10)
    auto = await ops.incident_store.open(
        title="Website is down", component_ids=["web"], impact=Impact.MAJOR, opened=opened
    )
    base = f"/api/v1/admin/incidents/{auto.id}"

    bad = await admin.post(f"{base}/updates", json={"status": "sleeping"}, headers=AUTH)
    assert bad.status == 400
    errors = (await bad.json())["errors"]
    assert any(e.startswith("status:") for e in errors)
    assert any(e.startswith("message: Field required") for e in errors)

    resp = await admin.post(
        f"{base}/updates",
        json={"status": "identified", "message": "Bad deploy; rolling back", "author": "alice"},
        headers=AUTH,
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "identified"
    assert body["acknowledged"] is not None  # the first human update acknowledges

    resp = await admin.put(
        f"{base}/exclusion",
        json={"kind": "customer_caused", "reason": "", "by": "bob"},
        headers=AUTH,
    )
    assert resp.status == 400  # a reason is mandatory
    resp = await admin.put(
        f"{base}/exclusion",
        json={"kind": "customer_caused", "reason": "Customer's DNS change", "by": "bob"},
        headers=AUTH,
    )
    assert (await resp.json())["excluded"] == {
        "kind": "customer_caused",
        "reason": "Customer's DNS change",
        "by": "bob",
    }
    resp = await admin.post(
        f"{base}/resolve", json={"message": "Rolled back", "author": "alice"}, headers=AUTH
    )
    assert (await resp.json())["status"] == "resolved"

    one = await (await admin.get(base, headers=AUTH)).json()
    assert one["acknowledged_by"] == "alice"
    assert [u["author"] for u in one["updates"]] == ["slamon", "alice", "alice"]
    listing = await (await admin.get("/api/v1/admin/incidents", headers=AUTH)).json()
    assert [i["id"] for i in listing["incidents"]] == [auto.id]
    assert (await admin.get("/api/v1/admin/incidents/nope", headers=AUTH)).status == 404


async def test_manual_incident_and_unknown_component(admin) -> None:  # type: ignore[no-untyped-def]
    resp = await admin.post(
        "/api/v1/admin/incidents",
        json={"title": "Slow logins", "components": ["nope"], "author": "carol"},
        headers=AUTH,
    )
    assert resp.status == 400
    resp = await admin.post(
        "/api/v1/admin/incidents",
        json={"title": "Slow logins", "components": ["web"], "author": "carol"},
        headers=AUTH,
    )
    assert resp.status == 201
    body = await resp.json()
    assert body["automatic"] is False and body["acknowledged"] == body["opened"]


async def test_maintenance_through_the_api_puts_monitors_in_maintenance(admin) -> None:  # type: ignore[no-untyped-def]
    ops = admin.runtime.ops
    now = datetime.now(UTC)
    resp = await admin.post(
        "/api/v1/admin/maintenance",
        json={
            "id": "swap-disks",
            "title": "Swapping disks",
            "components": ["web"],
            "start": (now - timedelta(seconds=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
            "author": "dave",
        },
        headers=AUTH,
    )
    assert resp.status == 201, await resp.text()
    for _ in range(100):  # the tracker applies it at once
        if ops.engine.state("api") is State.MAINTENANCE:
            break
        await asyncio.sleep(0.02)
    assert ops.engine.state("api") is State.MAINTENANCE
    listing = await (await admin.get("/api/v1/admin/maintenance", headers=AUTH)).json()
    assert [(w["id"], w["status"]) for w in listing["windows"]] == [("swap-disks", "in_progress")]
    again = await admin.post(
        "/api/v1/admin/maintenance",
        json={
            "id": "swap-disks",
            "title": "x",
            "components": ["web"],
            "cron": "0 2 * * *",
            "duration": "1h",
            "author": "dave",
        },
        headers=AUTH,
    )
    assert again.status == 409
    bad = await admin.post(
        "/api/v1/admin/maintenance",
        json={
            "id": "nightly",
            "title": "x",
            "components": ["web"],
            "cron": "0 2 * *",
            "duration": "1h",
            "author": "dave",
        },
        headers=AUTH,
    )
    assert bad.status == 400
    assert (await admin.delete("/api/v1/admin/maintenance/swap-disks", headers=AUTH)).status == 204
    for _ in range(100):
        if ops.engine.state("api") is not State.MAINTENANCE:
            break
        await asyncio.sleep(0.02)
    assert ops.engine.state("api") is State.UNKNOWN
    alerts = await (await admin.get("/api/v1/admin/alerts", headers=AUTH)).json()
    assert alerts == {"alerts": []}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slamon", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_incident_cli(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path}/cli.db"\n'
        '[[monitors]]\nid = "api"\ntype = "tcp"\ntarget = "127.0.0.1:9"\n'
    )
    c = ["--config", str(cfg)]
    opened = run_cli(
        "incident",
        "open",
        *c,
        "--title",
        "API errors",
        "--component",
        "api",
        "--impact",
        "major",
        "--at",
        "2026-10-05T10:00:00Z",
        "--author",
        "erin",
        "--json",
        cwd=tmp_path,
    )
    assert opened.returncode == 0, opened.stderr
    incident_id = json.loads(opened.stdout)["id"]
    upd = run_cli(
        "incident",
        "update",
        incident_id,
        *c,
        "--status",
        "monitoring",
        "--message",
        "Fix deployed",
        "--at",
        "2026-10-05T10:20:00Z",
        "--author",
        "erin",
        cwd=tmp_path,
    )
    assert upd.returncode == 0, upd.stderr
    exc = run_cli(
        "incident",
        "exclude",
        incident_id,
        *c,
        "--kind",
        "force_majeure",
        "--reason",
        "Regional power cut",
        "--author",
        "frank",
        cwd=tmp_path,
    )
    assert exc.returncode == 0, exc.stderr
    assert "excluded     force_majeure by frank: Regional power cut" in exc.stdout
    res = run_cli(
        "incident",
        "resolve",
        incident_id,
        *c,
        "--message",
        "Stable",
        "--at",
        "2026-10-05T11:00:00Z",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    shown = run_cli("incident", "show", incident_id, *c, "--json", cwd=tmp_path)
    body = json.loads(shown.stdout)
    assert body["resolved"] == "2026-10-05T11:00:00+00:00"
    assert [u["status"] for u in body["updates"]] == ["investigating", "monitoring", "resolved"]
    listing = run_cli("incident", "list", *c, "--since", "3650d", cwd=tmp_path)
    assert incident_id in listing.stdout and "[excluded: force_majeure]" in listing.stdout
    missing = run_cli("incident", "show", "nope", *c, cwd=tmp_path)
    assert missing.returncode == 1
    naive = run_cli("incident", "ack", incident_id, *c, "--at", "2026-10-05T10:00:00", cwd=tmp_path)
    assert naive.returncode != 0 and "offset" in naive.stderr
