"""What a notifier sends: an alert firing or resolved, or an incident event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slamon.events import Alert, incident_json

if TYPE_CHECKING:  # the incident manager reads the config, which reads the notifier types
    from slamon.events import IncidentEvent


SCHEMA_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Notification:
    """An alert or an incident event (exactly one of the two)."""

    alert: Alert | None = None
    incident: IncidentEvent | None = None

    def __post_init__(self) -> None:
        if (self.alert is None) == (self.incident is None):
            raise ValueError("a notification carries an alert or an incident event")

    @property
    def event(self) -> str:
        """``alerts`` or ``incidents``: what a notifier subscribes to."""
        return "alerts" if self.alert is not None else "incidents"

    @property
    def dedup_key(self) -> str:
        """Equal for two notifications that say the same thing."""
        if self.alert is not None:
            a = self.alert
            started = a.starts_at.isoformat() if a.starts_at else ""
            return f"alert:{a.fingerprint}:{a.status}:{started}"
        assert self.incident is not None
        i = self.incident.incident
        return f"incident:{i.id}:{self.incident.kind}:{len(i.updates)}:{i.status}"

    @property
    def idempotency_key(self) -> str:
        """``dedup_key`` hashed: the same for a notification sent again by another engine.

        Webhooks carry it as ``Idempotency-Key``: a receiver that keeps the keys it saw
        can drop what a new leader sends again (alert id, status, its transition time).
        """
        return hashlib.sha256(self.dedup_key.encode()).hexdigest()[:32]

    @property
    def status(self) -> str:
        """``firing``/``resolved`` for alerts; ``opened``/``updated``/``resolved`` for incidents."""
        if self.alert is not None:
            return self.alert.status
        assert self.incident is not None
        return self.incident.kind.value

    @property
    def topic(self) -> str:
        """The part of the MQTT topic after ``slamon/v1/events/``."""
        if self.alert is not None:
            labels = self.alert.labels
            subject = labels.get("monitor") or labels.get("slo") or self.alert.fingerprint
            return f"alerts/{self.alert.name}/{subject}"
        assert self.incident is not None
        return f"incidents/{self.incident.incident.id}"

    @property
    def subject(self) -> str:
        """A one-line summary (mail subject, chat headline)."""
        if self.alert is not None:
            summary = self.alert.annotations.get("summary", self.alert.name)
            return f"[{self.alert.status.upper()}] {summary}"
        assert self.incident is not None
        i = self.incident.incident
        return f"[INCIDENT {self.incident.kind.value.upper()}] {i.title}"

    @property
    def text(self) -> str:
        """A few plain lines for people."""
        if self.alert is not None:
            a = self.alert
            lines = [self.subject, a.annotations.get("description", "")]
            lines += [f"{k}: {v}" for k, v in sorted(a.labels.items())]
            if a.starts_at:
                lines.append(f"started: {a.starts_at.isoformat()}")
            if a.ends_at:
                lines.append(f"resolved: {a.ends_at.isoformat()}")
            return "\n".join(line for line in lines if line)
        assert self.incident is not None
        i = self.incident.incident
        lines = [self.subject, f"impact: {i.impact}, status: {i.status}"]
        lines.append(f"components: {', '.join(i.component_ids)}")
        lines.append(f"opened: {i.opened.isoformat()}")
        if i.resolved:
            lines.append(f"resolved: {i.resolved.isoformat()}")
        if i.updates:
            last = i.updates[-1]
            lines.append(
                f"latest: {last.at.isoformat()} {last.status} {last.author}: {last.message}"
            )
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        """The JSON body of the webhook and MQTT notifiers."""
        if self.alert is not None:
            a = self.alert
            return {
                "version": SCHEMA_VERSION,
                "event": "alert",
                "status": a.status,
                "fingerprint": a.fingerprint,
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": a.starts_at.isoformat() if a.starts_at else None,
                "endsAt": a.ends_at.isoformat() if a.ends_at else None,
            }
        assert self.incident is not None
        return {
            "version": SCHEMA_VERSION,
            "event": "incident",
            "status": self.incident.kind.value,
            "incident": incident_json(self.incident.incident),
        }
