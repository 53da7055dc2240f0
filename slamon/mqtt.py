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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


class _Batch:
    """Messages of one ``publish_many`` call still waiting for their PUBACK."""

    __slots__ = ("future", "refused", "remaining")

    def __init__(self, remaining: int, future: asyncio.Future[None]) -> None:
        self.remaining = remaining
        self.refused = 0
        self.future = future


class Connection:
    """A connected client: publish, subscribe, receive, acknowledge."""

    def __init__(self, client: aiomqtt.Client, settings: BusConfig) -> None:
        self._client = client
        self.settings = settings
        # aiomqtt's publish() costs O(pending publishes) each (it scans them all), so a
        # batch goes to paho directly and one future waits for all its PUBACKs.
        self._waiting: dict[int, _Batch] = {}
        paho = client._client
        aiomqtt_on_publish: Any = paho.on_publish

        def on_publish(c: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
            if aiomqtt_on_publish is not None:
                aiomqtt_on_publish(c, userdata, mid, reason, properties)
            batch = self._waiting.pop(mid, None)
            if batch is None:
                return
            if getattr(reason, "is_failure", False):
                batch.refused += 1
            batch.remaining -= 1
            if batch.remaining == 0 and not batch.future.done():
                batch.future.set_result(None)

        paho.on_publish = on_publish

    async def publish_many(
        self, messages: Sequence[tuple[str, bytes]], *, retain: bool = False
    ) -> int:
        """Publish at QoS 1, all in flight at once; return how many the broker refused.

        Raises MqttError if the connection is lost or the acknowledgements do not come
        within 30 seconds; then none of them is known to have arrived.
        """
        if not messages:
            return 0
        loop = asyncio.get_running_loop()
        batch = _Batch(len(messages), loop.create_future())
        paho = self._client._client
        for topic, payload in messages:
            info = paho.publish(topic, payload, qos=1, retain=retain)
            if info.rc != 0:
                raise MqttError(f"publish failed with code {info.rc}")
            self._waiting[info.mid] = batch
        disconnected = self._client._disconnected
        # asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that arrives as the PUBACK does, and a task that ignores its cancel never stops.
        done, _ = await asyncio.wait(
            (batch.future, disconnected), timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        if batch.future not in done:
            batch.future.cancel()
            raise MqttError("connection lost or no acknowledgement while publishing")
        return batch.refused

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK; MqttError if refused or lost."""
        if await self.publish_many([(topic, payload)], retain=retain):
            raise MqttError(f"the broker refused a message on {topic[:200]}")

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe to ``topic`` (wildcards allowed)."""
        await self._client.subscribe(topic, qos=qos)

    async def messages(self) -> AsyncIterator[Message]:
        """Received messages, until the connection is lost (then MqttError)."""
        async for m in self._client.messages:
            payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            yield Message(m.topic.value, payload, m.mid, m.qos, m.retain)

    async def wait_closed(self) -> None:
        """Return (raising MqttError) when the connection is lost."""
        async for _ in self._client.messages:
            pass  # nothing arrives here when run_sessions was given on_message

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
        # No client-side limit: paho rescans its whole outgoing queue on every PUBACK
        # when there is one. The agent's publish window is the limit.
        max_inflight_messages=0,
    )
    # aiomqtt warns for more than this many publishes awaiting their PUBACK; an agent
    # draining its spool keeps hundreds in flight on purpose.
    client.pending_calls_threshold = 100_000
    if manual_ack:
        client._client.manual_ack_set(True)
    return client


Session = Callable[[Connection], Awaitable[None]]


def _dispatch(client: aiomqtt.Client, handle: Callable[[Message], None]) -> None:
    # Straight from paho's read callback: no queue and no task per message (aiomqtt's
    # iterator costs both), and installed before CONNACK, since a persistent session
    # delivers what the broker kept as soon as we connect, before any subscribe.
    def on_message(_client: Any, _userdata: Any, m: Any) -> None:
        handle(Message(m.topic, m.payload, m.mid, m.qos, m.retain))

    client._client.on_message = on_message


async def run_sessions(
    settings: BusConfig,
    client_id: str,
    session: Session,
    *,
    manual_ack: bool = False,
    on_message: Callable[[Message], None] | None = None,
    on_connecting: Callable[[Connection], None] | None = None,
    on_state: Callable[[bool], None] | None = None,
    min_backoff: float = 0.5,
    max_backoff: float = 5.0,
) -> None:
    """Connect, run ``session`` on the connection, and reconnect with backoff, forever.

    ``session`` returns or raises MqttError when the connection is lost; any other
    exception propagates. ``on_message``, if given, is called for every message from
    the moment of connecting; ``on_connecting`` gets each new connection before it
    connects (so messages can be acknowledged on it); ``on_state`` is told whether we
    are connected.
    """
    backoff = min_backoff
    where = f"{settings.host}:{settings.port}"
    failures = 0
    while True:
        connected = False
        client = _client(settings, client_id, manual_ack=manual_ack)
        conn = Connection(client, settings)
        if on_message is not None:
            _dispatch(client, on_message)
        if on_connecting is not None:
            on_connecting(conn)
        try:
            async with client:
                connected = True
                if on_state:
                    on_state(True)
                log.info("connected to MQTT broker %s as %s", where, client_id)
                backoff, failures = min_backoff, 0
                await session(conn)
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
