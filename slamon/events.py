"""Values that cross rooms: what the engine, alerting, notifiers and the web tell each other.

A monitor's state change, an alert, an incident event, a breach, and the JSON shape of
an incident. They sit below every user so that no room reaches into another for them;
this module imports nothing of slamon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probes.result import Result
    from sla_engine.incidents import Incident
    from sla_engine.time.states import State


@dataclass(frozen=True, slots=True)
class StateChange:
    """A monitor's confirmed state changed; what listeners are told."""

    monitor_id: str
    previous: State
    state: State
    at: datetime
    result: Result | None


_EMPTY: Mapping[str, str] = MappingProxyType({})


class AlertName(StrEnum):
    """The alertnames slamon sends."""

    MONITOR_DOWN = "SlamonMonitorDown"
    MONITOR_DEGRADED = "SlamonMonitorDegraded"
    CERTIFICATE_EXPIRY = "SlamonCertificateExpiry"
    SLO_BURN_RATE = "SlamonSLOBurnRate"
    SLO_BREACH_FORECAST = "SlamonSLOBreachForecast"
    CONTRACT_BREACH_FORECAST = "SlamonContractBreachForecast"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as Alertmanager's v2 API models it; resolved once ``ends_at`` is set."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    @property
    def name(self) -> str:
        """The ``alertname`` label."""
        return self.labels["alertname"]

    @property
    def firing(self) -> bool:
        """True until resolved."""
        return self.ends_at is None

    @property
    def status(self) -> str:
        """``firing`` or ``resolved``."""
        return "firing" if self.firing else "resolved"

    @property
    def fingerprint(self) -> str:
        """A stable id from the labels: the dedup key."""
        text = "\x00".join(f"{k}\x01{v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class IncidentEventKind(StrEnum):
    """What happened to an incident."""

    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """An incident after a change, for notifiers."""

    kind: IncidentEventKind
    incident: Incident


@dataclass(frozen=True, slots=True)
class Breach:
    """An SLO or a contract's current period went into breach, or out of it.

    ``kind`` is "slo" or "contract"; in breach means its error budget is spent.
    """

    kind: str
    id: str
    name: str
    breached: bool
    at: datetime
    target: str | None  # percent, as configured
    availability: str | None  # percent over the SLO window, when measured

    def event(self) -> dict[str, object]:
        """The JSON published on ``<prefix>/events/breach/<id>``."""
        return {
            "type": "breach",
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "status": "breached" if self.breached else "recovered",
            "at": self.at.isoformat(),
            "target": self.target,
            "availability": self.availability,
        }


def incident_json(i: Incident) -> dict[str, Any]:
    """An incident as JSON (admin API, webhooks, CLI)."""

    def when(value: object) -> str | None:
        return value.isoformat() if value is not None else None  # type: ignore[attr-defined]

    return {
        "id": i.id,
        "title": i.title,
        "components": list(i.component_ids),
        "impact": i.impact.value,
        "status": i.status.value,
        "opened": i.opened.isoformat(),
        "acknowledged": when(i.acknowledged),
        "resolved": when(i.resolved),
        "automatic": i.automatic,
        "excluded": (
            {"kind": i.excluded.value, "reason": i.exclusion_reason, "by": i.excluded_by}
            if i.excluded is not None
            else None
        ),
        "updates": [
            {
                "at": u.at.isoformat(),
                "status": u.status.value,
                "message": u.message,
                "author": u.author,
            }
            for u in i.updates
        ],
    }


def alert_json(a: Alert) -> dict[str, Any]:
    """An alert as JSON (the outbox, webhooks): labels, annotations, times."""
    return {
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "startsAt": a.starts_at.isoformat() if a.starts_at else None,
        "endsAt": a.ends_at.isoformat() if a.ends_at else None,
    }


def alert_from_json(doc: Mapping[str, Any]) -> Alert:
    """The alert ``alert_json`` wrote."""

    def when(value: object) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    return Alert(
        MappingProxyType(dict(doc["labels"])),
        MappingProxyType(dict(doc.get("annotations") or {})),
        when(doc.get("startsAt")),
        when(doc.get("endsAt")),
    )
