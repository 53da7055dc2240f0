"""A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``{"text": ...}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slamon.alerting.notify.http import JsonPoster

if TYPE_CHECKING:
    from slamon.alerting.notify.message import Notification
    from slamon.config.notifiers import HttpSettings

_COLOURS = {"firing": "#d62728", "resolved": "#2ca02c", "opened": "#d62728"}


def slack_body(message: Notification) -> dict[str, Any]:
    """A message with a plain ``text`` fallback and one coloured attachment."""
    lines = message.text.splitlines()
    return {
        "text": lines[0],
        "attachments": [
            {
                "color": _COLOURS.get(message.status, "#ff7f0e"),
                "text": "\n".join(lines[1:]),
                "fallback": message.subject,
            }
        ],
    }


class SlackNotifier:
    """Posts to an incoming-webhook URL."""

    resend_active = False

    def __init__(self, settings: HttpSettings) -> None:
        self.url = str(settings.url)
        self.poster = JsonPoster(settings.headers)

    async def send(self, message: Notification) -> None:
        """POST the chat message."""
        await self.poster.post(self.url, slack_body(message))

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.poster.close()
