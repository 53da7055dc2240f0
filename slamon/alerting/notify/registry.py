"""Notifier kinds by their config ``type``: how to build one from its validated settings.

The settings models live in ``slamon.config.notifiers``, so that validating a file loads
no notifier; this is where the implementations are chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slamon.alerting.notify.alertmanager import AlertmanagerNotifier
from slamon.alerting.notify.email import EmailNotifier
from slamon.alerting.notify.mqtt import MqttNotifier
from slamon.alerting.notify.slack import SlackNotifier
from slamon.alerting.notify.webhook import WebhookNotifier

if TYPE_CHECKING:
    from slamon.alerting.notify.message import Notification
    from slamon.alerting.notify.worker import Notifier

NOTIFIER_TYPES: dict[str, Callable[[Any], Notifier[Notification]]] = {
    "alertmanager": AlertmanagerNotifier,
    "webhook": WebhookNotifier,
    "slack": SlackNotifier,
    "mqtt": MqttNotifier,
    "email": EmailNotifier,
}
"""A notifier's constructor by its config ``type`` (``config.notifiers.NOTIFIER_SETTINGS``
has the same keys)."""
