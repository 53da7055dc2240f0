"""Prometheus Alertmanager: its v2 API, ``POST /api/v2/alerts``.

Alertmanager forgets a firing alert without ``endsAt`` after its resolve_timeout, so
the hub sends every active alert again each ``alerts.resend_interval`` (as Prometheus
does); a resolved alert is sent once with ``endsAt``. Incident events are not alerts
and are not sent here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slamon.alerting.notify.http import JsonPoster

if TYPE_CHECKING:
    from slamon.alerting.notify.message import Notification
    from slamon.config.notifiers import AlertmanagerSettings


def alertmanager_body(message: Notification, generator_url: str = "") -> list[dict[str, Any]]:
    """The v2 API's postable alerts for one message."""
    alert = message.alert
    if alert is None:
        return []
    item: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
    }
    if alert.starts_at is not None:
        item["startsAt"] = alert.starts_at.isoformat()
    if alert.ends_at is not None:
        item["endsAt"] = alert.ends_at.isoformat()
    if generator_url:
        item["generatorURL"] = generator_url
    return [item]


class AlertmanagerNotifier:
    """Sends alerts to one Alertmanager."""

    resend_active = True

    def __init__(self, settings: AlertmanagerSettings) -> None:
        self.url = str(settings.url).rstrip("/") + "/api/v2/alerts"
        self.generator_url = settings.generator_url
        self.poster = JsonPoster(settings.headers)

    async def send(self, message: Notification) -> None:
        """POST the alert (incident events are skipped)."""
        body = alertmanager_body(message, self.generator_url)
        if body:
            await self.poster.post(self.url, body)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.poster.close()
