"""Atlassian Statuspage's public v2 JSON, so that existing aggregators and widgets work.

Field names, status values and the timestamp format (ISO 8601 with milliseconds, in
the page's time zone, ``Z`` for UTC) follow Statuspage's public API documentation.
Where slamon does not know something Statuspage reports, the value says so rather
than inventing it: a component's ``created_at`` is the first instant slamon has data
for it (else when its current state began, else the page's time), never after its
``updated_at``; a maintenance window's ``created_at`` is its start (when it was
announced is not recorded), and its description is its one update.

``position`` follows Statuspage: the order among siblings, counted from 1. Groups and
components outside any group are numbered together at the top level; a group's
members are numbered within their group. A component carries the same object (and so
the same position) wherever it appears in a document: in ``components`` and embedded
in incidents and maintenances.

Statuspage gives absolute addresses (``page.url``, ``shortlink``), so the documents
are only made for a page with a public address (``[statuspage] url``); see
:func:`statuspage.render.PageRenderer.render_site`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sla_engine.incidents import IncidentStatus, MaintenanceStatus
from statuspage.snapshot import ComponentView, IncidentView, MaintenanceView, PageSnapshot
from statuspage.statuses import ComponentStatus, component_status, overall

PATHS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
LIMIT = 50  # Statuspage lists the 50 most recent incidents and maintenances
# How bad a status is, to give a group the status of its worst member.
_ORDER = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


def stamp(at: datetime | None, tz: ZoneInfo) -> str | None:
    """``2026-11-27T13:00:00.000+01:00``: milliseconds, the page's offset, Z for UTC."""
    if at is None:
        return None
    text = at.astimezone(tz).isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _short_id(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()[:12]


class StatuspageApi:
    """The v2 documents of one snapshot."""

    def __init__(self, snapshot: PageSnapshot) -> None:
        self.s = snapshot
        self.tz = ZoneInfo(snapshot.timezone)
        self.now = snapshot.generated_at
        self.page_id = _short_id(snapshot.url or snapshot.title)
        self._groups = self._group_ids()
        self._positions = self._sibling_positions()
        self._objects: dict[str, dict[str, Any]] = {}

    def _group_ids(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for c in self.s.components:
            if c.group and c.group not in out:
                out[c.group] = "group-" + _short_id(c.group)[:8]
        return out

    def _sibling_positions(self) -> dict[str, int]:
        """Each group's and component's position among its siblings (Statuspage's)."""
        out: dict[str, int] = {}
        top = 0
        within: dict[str, int] = {}
        for c in self.s.components:
            if c.group:
                if c.group not in within:
                    top += 1
                    out[self._groups[c.group]] = top
                    within[c.group] = 0
                within[c.group] += 1
                out[c.id] = within[c.group]
            else:
                top += 1
                out[c.id] = top
        return out

    def _link(self, path: str) -> str:
        base = self.s.url.rstrip("/") + "/" if self.s.url else ""
        return base + path

    def page(self) -> dict[str, Any]:
        """The ``page`` object every document starts with."""
        return {
            "id": self.page_id,
            "name": self.s.title,
            "url": self.s.url or None,
            "time_zone": self.s.timezone,
            "updated_at": stamp(self.now, self.tz),
        }

    def status(self) -> dict[str, str]:
        """The page's indicator and its description."""
        o = overall(self.s, self.now)
        return {"indicator": o.indicator.value, "description": o.description}

    def component(self, c: ComponentView) -> dict[str, Any]:
        """One component object (the same value wherever the component appears)."""
        if c.id in self._objects:
            return dict(self._objects[c.id])
        known = [t for t in (c.first_seen, c.since) if t is not None]
        created = min(known) if known else self.now
        updated = max(created, c.since or created)
        obj = {
            "id": c.id,
            "name": c.name,
            "status": component_status(c).value,
            "created_at": stamp(created, self.tz),
            "updated_at": stamp(updated, self.tz),
            "position": self._positions[c.id],
            "description": c.description or None,
            "showcase": True,
            "start_date": None,
            "group_id": self._groups.get(c.group) if c.group else None,
            "page_id": self.page_id,
            "group": False,
            "only_show_if_degraded": False,
        }
        self._objects[c.id] = obj
        return dict(obj)

    def components(self) -> list[dict[str, Any]]:
        """Components and their groups, in page order; a group lists its members' ids."""
        out: list[dict[str, Any]] = []
        groups: dict[str, dict[str, Any]] = {}
        for c in self.s.components:
            if c.group and c.group not in groups:
                groups[c.group] = {
                    "id": self._groups[c.group],
                    "name": c.group,
                    "status": ComponentStatus.OPERATIONAL.value,
                    "created_at": None,
                    "updated_at": None,
                    "position": self._positions[self._groups[c.group]],
                    "description": None,
                    "showcase": False,
                    "start_date": None,
                    "group_id": None,
                    "page_id": self.page_id,
                    "group": True,
                    "only_show_if_degraded": False,
                    "components": [],
                }
                out.append(groups[c.group])
            item = self.component(c)
            out.append(item)
            if c.group:
                group = groups[c.group]
                group["components"].append(c.id)
                if (
                    _ORDER[ComponentStatus(item["status"])]
                    > _ORDER[ComponentStatus(group["status"])]
                ):
                    group["status"] = item["status"]
                for key, pick in (("created_at", min), ("updated_at", max)):
                    values = [v for v in (group[key], item[key]) if v is not None]
                    group[key] = pick(values, key=_instant) if values else None
        return out

    def embedding(self, components: Iterable[dict[str, Any]]) -> StatuspageApi:
        """This API, embedding these component objects (a page's ``components.json``).

        So that an incident told elsewhere (a subscriber's webhook) carries its
        components exactly as the page's documents do.
        """
        for obj in components:
            if not obj.get("group"):
                self._objects[obj["id"]] = dict(obj)
        return self

    def _components_of(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        out = []
        for i in ids:
            if i in self._objects:
                out.append(dict(self._objects[i]))
            elif (c := self.s.component(i)) is not None:
                out.append(self.component(c))
        return out

    def incident(self, i: IncidentView) -> dict[str, Any]:
        """One incident with its updates, newest first."""
        n = len(i.updates)
        return {
            "id": i.id,
            "name": i.title,
            "status": i.status.value,
            "created_at": stamp(i.opened, self.tz),
            "updated_at": stamp(i.updated, self.tz),
            "monitoring_at": stamp(i.first_at(IncidentStatus.MONITORING), self.tz),
            "resolved_at": stamp(i.resolved, self.tz),
            "impact": i.impact.value,
            "shortlink": self._link(f"incidents/{i.id}.html"),
            "started_at": stamp(i.opened, self.tz),
            "page_id": self.page_id,
            "incident_updates": [
                {
                    "id": f"{i.id}-{n - k}",
                    "status": u.status.value,
                    "body": u.message,
                    "incident_id": i.id,
                    "created_at": stamp(u.at, self.tz),
                    "updated_at": stamp(u.at, self.tz),
                    "display_at": stamp(u.at, self.tz),
                    "affected_components": None,
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                }
                for k, u in enumerate(i.updates)
            ],
            "components": self._components_of(i.component_ids),
        }

    def maintenance(self, m: MaintenanceView) -> dict[str, Any]:
        """One scheduled maintenance: an incident with ``scheduled_for``/``until``."""
        status = m.status(self.now)
        started = stamp(m.start, self.tz)
        updates = []
        if m.description:
            updates.append(
                {
                    "id": f"{m.id}-1",
                    "status": MaintenanceStatus.SCHEDULED.value,
                    "body": m.description,
                    "incident_id": m.id,
                    "created_at": started,
                    "updated_at": started,
                    "display_at": started,
                    "affected_components": None,
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                }
            )
        return {
            "id": m.id,
            "name": m.title,
            "status": status.value,
            "created_at": started,
            "updated_at": stamp(min(self.now, m.end) if self.now > m.start else m.start, self.tz),
            "monitoring_at": None,
            "resolved_at": stamp(m.end, self.tz) if status is MaintenanceStatus.COMPLETED else None,
            "impact": "maintenance",
            "shortlink": self._link(f"index.html#maintenance-{m.id}"),
            "started_at": started,
            "page_id": self.page_id,
            "incident_updates": updates,
            "components": self._components_of(m.component_ids),
            "scheduled_for": started,
            "scheduled_until": stamp(m.end, self.tz),
        }

    def _incidents(self, only_open: bool) -> list[dict[str, Any]]:
        chosen = [i for i in self.s.incidents if i.open or not only_open]
        chosen.sort(key=lambda i: i.opened, reverse=True)
        return [self.incident(i) for i in chosen[:LIMIT]]

    def _maintenances(self, *statuses: MaintenanceStatus) -> list[dict[str, Any]]:
        chosen = [m for m in self.s.maintenance if not statuses or m.status(self.now) in statuses]
        if statuses:
            chosen.sort(key=lambda m: m.start)
        else:
            chosen.sort(key=lambda m: m.start, reverse=True)
        return [self.maintenance(m) for m in chosen[:LIMIT]]

    def documents(self) -> dict[str, dict[str, Any]]:
        """Every v2 document by its path under ``api/v2/``."""
        page, status, components = self.page(), self.status(), self.components()
        unresolved = self._incidents(only_open=True)
        upcoming = self._maintenances(MaintenanceStatus.SCHEDULED)
        active = self._maintenances(MaintenanceStatus.IN_PROGRESS)
        return {
            "summary.json": {
                "page": page,
                "components": components,
                "incidents": unresolved,
                "scheduled_maintenances": active + upcoming,
                "status": status,
            },
            "status.json": {"page": page, "status": status},
            "components.json": {"page": page, "components": components},
            "incidents.json": {"page": page, "incidents": self._incidents(only_open=False)},
            "incidents/unresolved.json": {"page": page, "incidents": unresolved},
            "scheduled-maintenances.json": {
                "page": page,
                "scheduled_maintenances": self._maintenances(),
            },
            "scheduled-maintenances/upcoming.json": {
                "page": page,
                "scheduled_maintenances": upcoming,
            },
            "scheduled-maintenances/active.json": {
                "page": page,
                "scheduled_maintenances": active,
            },
        }


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
