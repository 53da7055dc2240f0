"""Nothing private reaches the public site, and nothing from the config comes out raw.

A canary secret is planted in every private place (targets, credentials in URLs,
headers, tokens, the store's address, a non-public monitor that is a member of
a public component, incident authors and exclusion reasons naming a customer) and
script payloads in every public text (titles, names, descriptions, groups, incident
and maintenance texts). The whole
site is built from the config and a real store, and served by slamon's web server;
every byte is searched.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceWindow,
)
from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.config.load import parse_config
from slamon.site.build import render_from_store
from slamon.store import migrate
from slamon.store.sql import IntervalChange, Store
from slamon.store.writer import Writer
from statuspage.render import PageRenderer

SECRET = "s3cr3t-canary-7f3a91"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
NOW = datetime.now(UTC).replace(microsecond=0)


def config_data(tmp_path: Path) -> dict[str, object]:
    return {
        "server": {"admin_token": "${CANARY_TOKEN}", "finance_token": SECRET + "-finance"},
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/{SECRET}.db"},
        "statuspage": {
            "title": XSS,
            "description": XSS,
            "timezone": "Europe/Oslo",
            "url": "https://status.example.test/",
        },
        "monitors": [
            {
                "id": "api-probe",
                "name": "API probe",
                "type": "http",
                "target": f"http://user:{SECRET}@127.0.0.1:9/{SECRET}/health?key={SECRET}",
                "headers": {"Authorization": "Bearer ${CANARY_TOKEN}", "X-Key": SECRET},
                "keyword": SECRET,
                "interval": "1h",
            },
            {
                "id": "db",
                "type": "tcp",
                "target": "127.0.0.1:9",
                "interval": "1h",
                "name": XSS,
                "description": XSS,
            },
            {
                "id": "hidden-" + SECRET,
                "type": "tcp",
                "target": "127.0.0.2:9",
                "interval": "1h",
                "name": "hidden " + SECRET,
                "public": False,
            },
        ],
        "components": [
            {
                "id": "api",
                "name": XSS,
                "description": XSS,
                "group": XSS,
                "monitors": ["api-probe", "db", "hidden-" + SECRET],
            },
            {"id": "db", "name": "Database " + XSS, "monitors": ["db"]},
        ],
    }


INCIDENTS = [
    Incident(
        id="inc-1",
        title=XSS,
        component_ids=("api", "hidden"),
        impact=Impact.MAJOR,
        status=IncidentStatus.MONITORING,
        opened=NOW - timedelta(hours=2),
        updates=(IncidentUpdate(NOW - timedelta(hours=1), IncidentStatus.MONITORING, XSS, SECRET),),
        excluded=ExclusionKind.CUSTOMER_CAUSED,
        exclusion_reason=f"customer ACME {SECRET} broke it",
        excluded_by=SECRET,
    )
]
MAINTENANCE = [
    MaintenanceWindow(
        id="m-1",
        title=XSS,
        description=XSS,
        component_ids=("api",),
        start=NOW + timedelta(hours=1),
        end=NOW + timedelta(hours=2),
    )
]


def assert_clean(path: str, body: bytes) -> None:
    text = body.decode()
    assert SECRET not in text, f"{path} leaks the canary"
    assert "127.0.0.2" not in text and ":9/" not in text, f"{path} leaks a target"
    if path.endswith(".json") or path.startswith("api/"):
        assert "<" not in text and ">" not in text, f"{path} has raw markup"
        json.loads(text)
    else:
        assert "<script" not in text and "<img src=x" not in text, f"{path}: raw payload"


async def test_nothing_private_and_nothing_raw(tmp_path: Path, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    env = {"CANARY_TOKEN": SECRET + "-token"}
    config = parse_config(config_data(tmp_path), env)
    store = Store.from_url(config.store.url)
    await migrate.upgrade(store.engine)
    writer = Writer(store)
    for monitor, state in (
        ("api-probe", State.UP),
        ("db", State.DOWN),
        ("hidden-" + SECRET, State.UP),
    ):
        writer.add_change(IntervalChange(monitor, state, NOW - timedelta(days=3)))
    await writer.flush()
    files = await render_from_store(
        config, store, PageRenderer(), NOW, incidents=INCIDENTS, maintenance=MAINTENANCE
    )
    await store.close()
    assert "incidents/inc-1.html" in files
    for path, body in files.items():
        assert_clean(path, body)
    # The payloads did arrive, escaped: the page is not just empty.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in files["index.html"].decode()
    summary = json.loads(files["api/v2/summary.json"])
    assert summary["page"]["name"] == XSS
    assert summary["incidents"][0]["incident_updates"][0]["body"] == XSS
    assert [c["id"] for c in summary["incidents"][0]["components"]] == ["api"]

    # The same through the running service, and slamon's own JSON beside it.
    runtime = build_runtime(config)
    client = await aiohttp_client(create_app(runtime))
    paths = [
        "/",
        "/index.html",
        "/history.html",
        "/feed.atom",
        "/components/api.html",
        "/badges/api-status.svg",
        "/badges/db-uptime.svg",
        "/api/v2/summary.json",
        "/api/v2/components.json",
        "/api/v1/monitors",
    ]
    for path in paths:
        resp = await client.get(path)
        assert resp.status == 200, path
        body = await resp.read()
        if path == "/api/v1/monitors":
            assert SECRET not in body.decode()
            continue
        assert_clean(path.lstrip("/") or "index.html", body)
