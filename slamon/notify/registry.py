"""Notifier kinds by their config ``type``: a settings model and a constructor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from slamon.notify.alertmanager import AlertmanagerNotifier, AlertmanagerSettings
from slamon.notify.email import EmailNotifier, EmailSettings
from slamon.notify.http import HttpSettings
from slamon.notify.mqtt import MqttNotifier, MqttSettings
from slamon.notify.slack import SlackNotifier
from slamon.notify.webhook import WebhookNotifier
from slamon.notify.worker import Notifier


@dataclass(frozen=True, slots=True)
class NotifierType:
    """How to validate a notifier's settings and build it."""

    settings: type[BaseModel]
    build: Callable[[Any], Notifier]


NOTIFIER_TYPES: dict[str, NotifierType] = {
    "alertmanager": NotifierType(AlertmanagerSettings, AlertmanagerNotifier),
    "webhook": NotifierType(HttpSettings, WebhookNotifier),
    "slack": NotifierType(HttpSettings, SlackNotifier),
    "mqtt": NotifierType(MqttSettings, MqttNotifier),
    "email": NotifierType(EmailSettings, EmailNotifier),
}
