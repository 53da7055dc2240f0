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
from zoneinfo import ZoneInfo

import pytest

from statuspage.api import PATHS, StatuspageApi, stamp
from statuspage.snapshot import PageSnapshot
from tests.statuspage_samples import NOW, snapshot

STR, OPT_STR, BOOL, INT = (str,), (str, type(None)), (bool,), (int,)
TIME = "time"
OPT_TIME = "time?"

PAGE = {"id": STR, "name": STR, "url": STR, "time_zone": STR, "updated_at": TIME}
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
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
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
        ({"api": "maintenance", "web": "up"}, "maintenance", "Service Under Maintenance"),
        ({"api": "maintenance", "web": "degraded"}, "minor", "Minor Service Outage"),
    ],
    ids=["operational", "degraded", "down", "maintenance", "maintenance-and-degraded"],
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


def test_indicator_while_a_window_runs_on_operational_components() -> None:
    from dataclasses import replace

    from sla_engine.time.states import State

    # The window is in progress, its component already reports up again: still maintenance.
    base = snapshot()
    comps = tuple(replace(c, state=State.UP) for c in base.components)
    s = replace(base, components=comps, incidents=())
    assert StatuspageApi(s).status() == {
        "indicator": "maintenance",
        "description": "Service Under Maintenance",
    }


def test_utc_pages_write_z() -> None:
    from zoneinfo import ZoneInfo

    assert stamp(NOW, ZoneInfo("UTC")) == "2026-11-27T12:00:00.000Z"
    assert stamp(NOW + timedelta(microseconds=1500), ZoneInfo("UTC")) == "2026-11-27T12:00:00.001Z"
    assert datetime.fromisoformat(stamp(NOW, ZoneInfo("Asia/Kolkata")) or "") == NOW


def _components_in(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every component object of a document, with where it is."""
    out = [(f"components[{k}]", c) for k, c in enumerate(doc.get("components", []))]
    for key in ("incidents", "scheduled_maintenances"):
        for k, item in enumerate(doc.get(key, [])):
            out += [(f"{key}[{k}].components[{j}]", c) for j, c in enumerate(item["components"])]
    return out


@pytest.mark.parametrize("path", PATHS)
def test_a_component_is_the_same_object_wherever_it_appears(
    docs: dict[str, dict[str, Any]], path: str
) -> None:
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for where, c in _components_in(docs[path]):
        if c["id"] in seen:
            first, value = seen[c["id"]]
            fields = {k for k in value.keys() | c.keys() if value.get(k) != c.get(k)}
            assert not fields, f"{path}: {c['id']} differs at {where} from {first}: {fields}"
        else:
            seen[c["id"]] = (where, c)


def test_the_sample_embeds_components_in_incidents_and_maintenance(
    docs: dict[str, dict[str, Any]],
) -> None:
    # Otherwise the test above would check nothing.
    wheres = [w for w, _ in _components_in(docs["summary.json"])]
    assert any(w.startswith("incidents[") for w in wheres)
    assert any(w.startswith("scheduled_maintenances[") for w in wheres)


def test_positions_count_siblings_as_statuspage_does(docs: dict[str, dict[str, Any]]) -> None:
    # Statuspage numbers groups and ungrouped components together at the top level,
    # and a group's members within their group (as in any Statuspage components.json).
    components = docs["components.json"]["components"]
    top = [(c["name"], c["position"]) for c in components if c["group_id"] is None]
    assert top == [("Core", 1), ("Edge", 2), ("Email delivery", 3)]
    for group in (c for c in components if c["group"]):
        members = [c for c in components if c["group_id"] == group["id"]]
        assert [c["id"] for c in members] == group["components"]
        assert [c["position"] for c in members] == list(range(1, len(members) + 1))


def _timed(value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Every object under ``value`` that has both created_at and updated_at."""
    out = []
    if isinstance(value, dict):
        if "created_at" in value and "updated_at" in value:
            out.append((where, value))
        for key, item in value.items():
            out += _timed(item, f"{where}.{key}")
    elif isinstance(value, list):
        for k, item in enumerate(value):
            out += _timed(item, f"{where}[{k}]")
    return out


@pytest.mark.parametrize("path", PATHS)
def test_nothing_is_updated_before_it_was_created(
    docs: dict[str, dict[str, Any]], path: str
) -> None:
    found = _timed(docs[path], path)
    assert found or path == "status.json"
    for where, obj in found:
        created, updated = obj["created_at"], obj["updated_at"]
        if created is None or updated is None:
            continue
        assert datetime.fromisoformat(created) <= datetime.fromisoformat(updated), (
            f"{where}: created_at {created} is after updated_at {updated}"
        )


def test_a_component_without_any_data_is_created_when_its_state_began() -> None:
    from dataclasses import replace

    # No first-seen time: created_at is when the current state began, never "now"
    # (which would be after updated_at).
    base = snapshot()
    cdn = next(c for c in base.components if c.id == "cdn")
    assert cdn.first_seen is None and cdn.since is not None
    obj = StatuspageApi(replace(base, components=(cdn,))).component(cdn)
    assert obj["created_at"] == obj["updated_at"] == stamp(cdn.since, ZoneInfo("Europe/Oslo"))


def test_addresses_are_absolute(docs: dict[str, dict[str, Any]]) -> None:
    for path, doc in docs.items():
        assert doc["page"]["url"] == "https://status.example.com/", path
        for key in ("incidents", "scheduled_maintenances"):
            for item in doc.get(key, []):
                assert item["shortlink"].startswith("https://status.example.com/"), path
