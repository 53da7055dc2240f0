"""What the status page shows, as plain values: no targets, no secrets, no contracts.

The shell (``slamon.site.views``) fills a :class:`PageSnapshot` from the store and the
engine; everything in ``statuspage`` renders from it and from nothing else. Incidents
and maintenance arrive here as public views: the incident's author, exclusion marks
and reasons (which may name customers) never enter a snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sla_engine.incidents import (
    Impact,
    Incident,
    IncidentStatus,
    MaintenanceStatus,
    MaintenanceWindow,
)
from sla_engine.time.states import State

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_public_id(value: str) -> str:
    """``value`` if it is safe in a file name and a URL path; ValueError otherwise."""
    if not _SAFE_ID.match(value) or ".." in value:
        raise ValueError(f"not a safe public id: {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class DayStat:
    """One local day of a component: where its time went, and its availability.

    ``percent`` is None when nothing in the day counted (no data, or all maintenance).
    """

    day: date
    percent: Decimal | None
    down_seconds: int
    degraded_seconds: int
    maintenance_seconds: int
    unknown_seconds: int


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    """The mean response time of one hour's answered checks (ms); None when none answered."""

    at: datetime
    mean_ms: float | None


@dataclass(frozen=True, slots=True)
class ComponentView:
    """One component as the public sees it.

    ``members_down`` of ``members`` monitors are down now: a component that is down
    while some of its monitors answer is a partial outage, not a major one.
    ``first_seen`` is the first instant the store has data for it (within the history
    that was read); ``since`` when its current state began. ``last_known``: the state
    is what was measured before the service restarted, not confirmed by a check since.
    """

    id: str
    name: str
    description: str
    group: str
    state: State
    since: datetime | None
    days: tuple[DayStat, ...]
    uptime_90: Decimal | None
    uptime_30: Decimal | None
    latency: tuple[LatencyPoint, ...] = ()
    response_ms: float | None = None
    members: int = 1
    members_down: int = 0
    first_seen: datetime | None = None
    last_known: bool = False

    def __post_init__(self) -> None:
        check_public_id(self.id)


@dataclass(frozen=True, slots=True)
class UpdateView:
    """One public entry of an incident's timeline."""

    at: datetime
    status: IncidentStatus
    message: str


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident as the page shows it; updates newest first."""

    id: str
    title: str
    impact: Impact
    status: IncidentStatus
    opened: datetime
    resolved: datetime | None
    component_ids: tuple[str, ...]
    updates: tuple[UpdateView, ...]

    def __post_init__(self) -> None:
        check_public_id(self.id)

    @classmethod
    def of(cls, incident: Incident) -> IncidentView:
        """The public part of ``incident``: no author, no exclusion marks."""
        updates = sorted(incident.updates, key=lambda u: u.at, reverse=True)
        return cls(
            id=incident.id,
            title=incident.title,
            impact=incident.impact,
            status=incident.status,
            opened=incident.opened,
            resolved=incident.resolved,
            component_ids=incident.component_ids,
            updates=tuple(UpdateView(u.at, u.status, u.message) for u in updates),
        )

    @property
    def open(self) -> bool:
        """True until resolved."""
        return self.status.open and self.resolved is None

    @property
    def updated(self) -> datetime:
        """The newest of its times."""
        times = [self.opened, *(u.at for u in self.updates)]
        if self.resolved is not None:
            times.append(self.resolved)
        return max(times)

    def first_at(self, status: IncidentStatus) -> datetime | None:
        """When the timeline first reached ``status``."""
        times = [u.at for u in self.updates if u.status is status]
        return min(times) if times else None


@dataclass(frozen=True, slots=True)
class MaintenanceView:
    """One scheduled maintenance window as the page shows it.

    Its id names no file (a recurring occurrence's is ``<id>@<start>``); it is only
    an anchor in the page and an id in the JSON. Recurring occurrences are routine:
    the page lists the next week's, the JSON all of them, while the history and the
    feed leave them out.
    """

    id: str
    title: str
    description: str
    component_ids: tuple[str, ...]
    start: datetime
    end: datetime
    recurring: bool = False

    @classmethod
    def of(cls, window: MaintenanceWindow) -> MaintenanceView:
        """The public part of ``window``; ``<id>@<start>`` marks a recurring occurrence."""
        return cls(
            window.id,
            window.title,
            window.description,
            window.component_ids,
            window.start,
            window.end,
            recurring="@" in window.id,
        )

    def status(self, now: datetime) -> MaintenanceStatus:
        """Scheduled, in progress or completed at ``now``."""
        if now < self.start:
            return MaintenanceStatus.SCHEDULED
        if now < self.end:
            return MaintenanceStatus.IN_PROGRESS
        return MaintenanceStatus.COMPLETED


@dataclass(frozen=True, slots=True)
class PageSnapshot:
    """Everything one build of the status site needs.

    ``url`` is the page's public address (may be empty: links stay relative and
    feed ids do not depend on it). ``language`` is ``en`` or ``nb``. ``subscribe``
    shows the subscribe form (posting to ``url``), ``subscribe_webhooks`` its webhook
    field; ``confirm_hours`` is how long a confirmation link works.
    """

    title: str
    description: str
    timezone: str
    language: str
    url: str
    generated_at: datetime
    components: tuple[ComponentView, ...]
    incidents: tuple[IncidentView, ...] = ()
    maintenance: tuple[MaintenanceView, ...] = ()
    subscribe: bool = False
    subscribe_webhooks: bool = False
    confirm_hours: int = 48

    def component(self, component_id: str) -> ComponentView | None:
        """The component with that id, if public."""
        for c in self.components:
            if c.id == component_id:
                return c
        return None
