"""A generic JSON webhook: ``Notification.payload()`` POSTed as it is.

Each POST carries ``Idempotency-Key`` (``Notification.idempotency_key``): after a
failover a new leader may send again what the old one sent but had not yet recorded
as sent; the key lets the receiver tell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slamon.alerting.notify.http import JsonPoster

if TYPE_CHECKING:
    from slamon.alerting.notify.message import Notification
    from slamon.config.notifiers import HttpSettings


class WebhookNotifier:
    """POSTs one JSON document per message."""

    resend_active = False

    def __init__(self, settings: HttpSettings) -> None:
        self.url = str(settings.url)
        self.poster = JsonPoster(settings.headers)

    async def send(self, message: Notification) -> None:
        """POST the payload, with a key that is the same whichever engine sends it."""
        await self.poster.post(
            self.url, message.payload(), {"Idempotency-Key": message.idempotency_key}
        )

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.poster.close()
