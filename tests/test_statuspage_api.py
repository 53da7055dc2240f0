"""The v2 JSON against Atlassian Statuspage's public shapes: keys, types, values, times.

The expected shapes are written from Statuspage's public API documentation (the
``/api`` page every Statuspage page serves): the page object, components (groups
carry ``components``), incidents with ``incident_updates``, scheduled maintenances
with ``scheduled_for`` and ``scheduled_until``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from statuspage.api import PATHS, StatuspageApi, stamp
from statuspage.snapshot import PageSnapshot
from tests.statuspage_samples import NOW, snapshot

STR, OPT_STR, BOOL, INT = (str,), (str, type(None)), (bool,), (int,)
TIME = "time"
OPT_TIME = "time?"

PAGE = {"id": STR, "name": STR, "url": OPT_STR, "time_zone": STR, "updated_at": TIME}
STATUS = {"indicator": STR, "description": STR}
COMPONENT = {
    "id": STR,
    "name": STR,
    "status": STR,
    "created_at": TIME,
    "updated_at": TIME,
    "position": INT,
    "description": OPT_STR,
    "showcase": BOOL,
    "start_date": OPT_STR,
    "group_id": OPT_STR,
    "page_id": STR,
    "group": BOOL,
    "only_show_if_degraded": BOOL,
}
GROUP = {**COMPONENT, "created_at": OPT_TIME, "updated_at": OPT_TIME, "components": (list,)}
UPDATE = {
    "id": STR,
    "status": STR,
    "body": STR,
    "incident_id": STR,
    "created_at": TIME,
    "updated_at": TIME,
    "display_at": TIME,
    "affected_components": (list, type(None)),
    "deliver_notifications": BOOL,
    "custom_tweet": OPT_STR,
    "tweet_id": OPT_STR,
}
INCIDENT = {
    "id": STR,
    "name": STR,
    "status": STR,
    "created_at": TIME,
    "updated_at": TIME,
    "monitoring_at": OPT_TIME,
    "resolved_at": OPT_TIME,
    "impact": STR,
    "shortlink": STR,
    "started_at": TIME,
    "page_id": STR,
    "incident_updates": (list,),
    "components": (list,),
}
MAINTENANCE = {**INCIDENT, "scheduled_for": TIME, "scheduled_until": TIME}

COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INDICATORS = {"none", "minor", "major", "critical"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
IMPACTS = {"none", "minor", "major", "critical"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
# Statuspage's timestamps: ISO 8601 with milliseconds and the page's offset (Z for UTC).
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def check(obj: Any, shape: dict[str, Any], where: str) -> None:
    assert isinstance(obj, dict), where
    assert set(obj) == set(shape), f"{where}: keys {sorted(set(obj) ^ set(shape))}"
    for key, kind in shape.items():
        value = obj[key]
        if kind in (TIME, OPT_TIME):
            if value is None and kind == OPT_TIME:
                continue
            assert isinstance(value, str) and TIMESTAMP.match(value), f"{where}.{key}: {value!r}"
        else:
            assert isinstance(value, kind), f"{where}.{key}: {value!r}"


def check_component(c: dict[str, Any], where: str) -> None:
    check(c, GROUP if c.get("group") else COMPONENT, where)
    assert c["status"] in COMPONENT_STATUSES


def check_incident(i: dict[str, Any], where: str, maintenance: bool = False) -> None:
    check(i, MAINTENANCE if maintenance else INCIDENT, where)
    if maintenance:
        assert i["status"] in MAINTENANCE_STATUSES
        assert i["impact"] == "maintenance"
    else:
        assert i["status"] in INCIDENT_STATUSES
        assert i["impact"] in IMPACTS
    for k, u in enumerate(i["incident_updates"]):
        check(u, UPDATE, f"{where}.incident_updates[{k}]")
        assert u["incident_id"] == i["id"]
    for k, c in enumerate(i["components"]):
        check_component(c, f"{where}.components[{k}]")


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    # Through JSON text, as a client reads it.
    return {
        path: json.loads(json.dumps(doc))
        for path, doc in StatuspageApi(snapshot()).documents().items()
    }


def test_every_path(docs: dict[str, dict[str, Any]]) -> None:
    assert set(docs) == set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_shapes(docs: dict[str, dict[str, Any]], path: str) -> None:
    doc = docs[path]
    check(doc["page"], PAGE, f"{path}.page")
    if "status" in doc:
        check(doc["status"], STATUS, f"{path}.status")
        assert doc["status"]["indicator"] in INDICATORS
    for k, c in enumerate(doc.get("components", [])):
        check_component(c, f"{path}.components[{k}]")
    for k, i in enumerate(doc.get("incidents", [])):
        check_incident(i, f"{path}.incidents[{k}]")
    for k, m in enumerate(doc.get("scheduled_maintenances", [])):
        check_incident(m, f"{path}.scheduled_maintenances[{k}]", maintenance=True)
    expected_top = {
        "summary.json": {"page", "components", "incidents", "scheduled_maintenances", "status"},
        "status.json": {"page", "status"},
        "components.json": {"page", "components"},
        "incidents.json": {"page", "incidents"},
        "incidents/unresolved.json": {"page", "incidents"},
    }.get(path, {"page", "scheduled_maintenances"})
    assert set(doc) == expected_top


def test_values(docs: dict[str, dict[str, Any]]) -> None:
    summary = docs["summary.json"]
    by_id = {c["id"]: c for c in summary["components"]}
    assert by_id["api"]["status"] == "partial_outage"  # down, one of three monitors
    assert by_id["web"]["status"] == "operational"
    assert by_id["cdn"]["status"] == "under_maintenance"
    assert by_id["search"]["status"] == "degraded_performance"
    assert by_id["mail"]["status"] == "degraded_performance"  # no data is never operational
    groups = [c for c in summary["components"] if c["group"]]
    assert [(g["name"], g["components"], g["status"]) for g in groups] == [
        ("Core", ["api", "web"], "partial_outage"),
        ("Edge", ["cdn", "search"], "degraded_performance"),
    ]
    assert by_id["api"]["group_id"] == groups[0]["id"]
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert [i["id"] for i in summary["incidents"]] == ["inc-2026-11-27-api"]
    assert [m["id"] for m in summary["scheduled_maintenances"]] == ["cdn-move", "db-upgrade"]
    assert [
        m["id"] for m in docs["scheduled-maintenances/active.json"]["scheduled_maintenances"]
    ] == ["cdn-move"]
    assert [
        m["id"] for m in docs["scheduled-maintenances/upcoming.json"]["scheduled_maintenances"]
    ] == ["db-upgrade"]
    assert [i["id"] for i in docs["incidents.json"]["incidents"]] == [
        "inc-2026-11-27-api",
        "inc-2026-10-03-web",
    ]
    resolved = docs["incidents.json"]["incidents"][1]
    assert resolved["resolved_at"] == "2026-10-03T10:52:00.000+02:00"
    assert resolved["monitoring_at"] == "2026-10-03T10:40:00.000+02:00"
    assert resolved["shortlink"] == "https://status.example.com/incidents/inc-2026-10-03-web.html"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "monitoring",
        "investigating",
    ]
    assert docs["status.json"]["page"]["updated_at"] == "2026-11-27T13:00:00.000+01:00"


@pytest.mark.parametrize(
    ("states", "indicator", "description"),
    [
        ({"api": "up", "web": "up"}, "none", "All Systems Operational"),
        ({"api": "degraded", "web": "up"}, "minor", "Minor Service Outage"),
        ({"api": "down", "web": "up"}, "critical", "Major System Outage"),
        ({"api": "maintenance", "web": "up"}, "none", "Service Under Maintenance"),
    ],
    ids=["operational", "degraded", "down", "maintenance"],
)
def test_indicator(states: dict[str, str], indicator: str, description: str) -> None:
    from dataclasses import replace

    from sla_engine.time.states import State

    base = snapshot()
    comps = tuple(
        replace(c, state=State(states[c.id]), members=1, members_down=int(states[c.id] == "down"))
        for c in base.components
        if c.id in states
    )
    s = PageSnapshot(base.title, "", "UTC", "en", "", NOW, comps, incidents=(), maintenance=())
    assert StatuspageApi(s).status() == {"indicator": indicator, "description": description}


def test_utc_pages_write_z() -> None:
    from zoneinfo import ZoneInfo

    assert stamp(NOW, ZoneInfo("UTC")) == "2026-11-27T12:00:00.000Z"
    assert stamp(NOW + timedelta(microseconds=1500), ZoneInfo("UTC")) == "2026-11-27T12:00:00.001Z"
    assert datetime.fromisoformat(stamp(NOW, ZoneInfo("Asia/Kolkata")) or "") == NOW
