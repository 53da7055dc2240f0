"""The one module that knows aiomqtt (and the paho-mqtt client under it).

Everything MQTT that slamon does goes through here: connecting with TLS and a
username/password from the config, a persistent session under a stable client id,
QoS 1 publishing, subscribing with acknowledgements the caller sends when it is ready
(manual PUBACK), and reconnecting with backoff. An aiomqtt upgrade touches this file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from slamon.config import BusConfig

log = logging.getLogger("slamon.mqtt")

MqttError = aiomqtt.MqttError


@dataclass(frozen=True, slots=True)
class Message:
    """One received message; ``ack()`` it once it is safely handled."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool


class Connection:
    """A connected client: publish, subscribe, receive, acknowledge."""

    def __init__(self, client: aiomqtt.Client, settings: BusConfig) -> None:
        self._client = client
        self.settings = settings

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and wait for the broker's acknowledgement (PUBACK at QoS 1)."""
        await self._client.publish(topic, payload, qos=qos, retain=retain, timeout=30)

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe to ``topic`` (wildcards allowed)."""
        await self._client.subscribe(topic, qos=qos)

    async def messages(self) -> AsyncIterator[Message]:
        """Received messages, until the connection is lost (then MqttError)."""
        async for m in self._client.messages:
            payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            yield Message(m.topic.value, payload, m.mid, m.qos, m.retain)

    def ack(self, mid: int) -> None:
        """Send the PUBACK for a QoS 1 message received with manual acknowledgement."""
        # aiomqtt does not expose paho's manual acknowledgement; it lives here only.
        self._client._client.ack(mid, 1)

    @property
    def queued(self) -> int:
        """Messages received but not yet taken from the client's queue."""
        return len(self._client.messages)


def _tls_context(settings: BusConfig) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    return ssl.create_default_context(cafile=settings.ca_file)


def _client(settings: BusConfig, client_id: str, *, manual_ack: bool) -> aiomqtt.Client:
    v5 = settings.protocol == "5"
    properties = None
    if v5:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # The broker keeps the session (subscriptions, unacknowledged messages) this long.
        properties.SessionExpiryInterval = int(settings.session_expiry)
        # How many unacknowledged QoS 1 messages the broker may send us at once.
        properties.ReceiveMaximum = settings.receive_maximum
    client = aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else False,
        clean_start=False,
        properties=properties,
        tls_context=_tls_context(settings),
        keepalive=30,
        timeout=10,
        max_inflight_messages=1000,
    )
    # aiomqtt warns for more than this many publishes awaiting their PUBACK; an agent
    # draining its spool keeps hundreds in flight on purpose.
    client.pending_calls_threshold = 100_000
    if manual_ack:
        client._client.manual_ack_set(True)
    return client


Session = Callable[[Connection], Awaitable[None]]


async def run_sessions(
    settings: BusConfig,
    client_id: str,
    session: Session,
    *,
    manual_ack: bool = False,
    on_state: Callable[[bool], None] | None = None,
    min_backoff: float = 0.5,
    max_backoff: float = 30.0,
) -> None:
    """Connect, run ``session`` on the connection, and reconnect with backoff, forever.

    ``session`` returns or raises MqttError when the connection is lost; any other
    exception propagates. ``on_state`` is told whether we are connected.
    """
    backoff = min_backoff
    where = f"{settings.host}:{settings.port}"
    failures = 0
    while True:
        connected = False
        try:
            async with _client(settings, client_id, manual_ack=manual_ack) as client:
                connected = True
                if on_state:
                    on_state(True)
                log.info("connected to MQTT broker %s as %s", where, client_id)
                backoff, failures = min_backoff, 0
                await session(Connection(client, settings))
        except MqttError as exc:
            failures += 1
            if connected or failures == 1 or failures % 20 == 0:
                log.warning(
                    "MQTT broker %s %s: %s; reconnecting in %.1fs",
                    where,
                    "lost" if connected else "unreachable",
                    exc,
                    backoff,
                )
        finally:
            if on_state and connected:
                on_state(False)
        await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
        backoff = min(backoff * 2, max_backoff)


async def cancel_quietly(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, swallowing its cancellation."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
