"""MQTT events on ``slamon/v1/events/...`` (QoS 1, not retained); aiomqtt lives here only."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import aiomqtt

if TYPE_CHECKING:
    from slamon.alerting.notify.message import Notification
    from slamon.config.notifiers import MqttSettings


class MqttNotifier:
    """Publishes JSON events; keeps one connection, reconnects after a failure."""

    resend_active = False

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None

    async def _connect(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        s = self.settings
        stack = contextlib.AsyncExitStack()
        client = aiomqtt.Client(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            identifier=s.client_id or None,
        )
        await stack.enter_async_context(client)
        self._stack, self._client = stack, client
        return client

    async def send(self, message: Notification) -> None:
        """Publish on ``<prefix>/<topic>``; drop the connection on failure."""
        topic = f"{self.settings.topic_prefix.rstrip('/')}/{message.topic}"
        payload = json.dumps(message.payload(), sort_keys=True)
        try:
            client = await self._connect()
            await client.publish(topic, payload, qos=self.settings.qos)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Disconnect."""
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()
