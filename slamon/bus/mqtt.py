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
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

if TYPE_CHECKING:
    from slamon.config.bus import BusConfig

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
        # Our publishes bypass paho's per-message bookkeeping (an MQTTMessage, a
        # MQTTMessageInfo with a lock, a Properties object for each PUBACK): they go out
        # as one packet write per batch, and their PUBACKs come back through
        # _FastReader to ``_acked``; one future waits for a whole batch.
        self._waiting: dict[int, _Batch] = {}
        self._reader = _FastReader(client._client, None, self._acked)

    def _acked(self, mid: int, refused: bool) -> bool:
        batch = self._waiting.pop(mid, None)
        if batch is None:
            return False  # not one of ours: paho's
        if refused:
            batch.refused += 1
        batch.remaining -= 1
        if batch.remaining == 0 and not batch.future.done():
            batch.future.set_result(None)
        return True

    async def publish_many(
        self, messages: Sequence[tuple[str, bytes]], *, retain: bool = False
    ) -> int:
        """Publish at QoS 1, all in flight at once; return how many the broker refused.

        Raises MqttError if the connection is lost or the acknowledgements do not come
        within 30 seconds; then none of them is known to have arrived.
        """
        if not messages:
            return 0
        paho = self._client._client
        if paho._sock is None or self._client._disconnected.done():
            raise MqttError("not connected")
        loop = asyncio.get_running_loop()
        batch = _Batch(len(messages), loop.create_future())
        packet = bytearray()
        v5 = paho._protocol == 5
        header = _PUBLISH | 0x02 | (0x01 if retain else 0)  # QoS 1
        mids = []
        for topic, payload in messages:
            name = topic.encode()
            if not name or len(name) > 65535 or b"+" in name or b"#" in name:
                raise ValueError(f"not a topic to publish to: {topic[:200]!r}")
            mid = paho._mid_generate()
            mids.append(mid)
            packet.append(header)
            packet += _remaining_length(2 + len(name) + 2 + v5 + len(payload))
            packet += _U16.pack(len(name))
            packet += name
            packet += _U16.pack(mid)
            if v5:
                packet.append(0)  # no properties
            packet += payload
        for mid in mids:
            self._waiting[mid] = batch
        paho._packet_queue(header, bytes(packet), 0, 1)
        disconnected = self._client._disconnected
        # asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that arrives as the PUBACK does, and a task that ignores its cancel never stops.
        try:
            done, _ = await asyncio.wait(
                (batch.future, disconnected), timeout=30, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for mid in mids:
                if self._waiting.get(mid) is batch:
                    del self._waiting[mid]
        if batch.future not in done:
            batch.future.cancel()
            raise MqttError("connection lost or no acknowledgement while publishing")
        return batch.refused

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish at QoS 1 and wait for its PUBACK; False if the broker refused it.

        A refusal is an ACL or a size limit; a lost connection raises MqttError.
        """
        return await self.publish_many([(topic, payload)], retain=retain) == 0

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

    def ack_many(self, mids: Sequence[int]) -> None:
        """Send the PUBACKs for these QoS 1 messages, in this order, in one write.

        For messages received with manual acknowledgement, which aiomqtt does not expose.
        """
        if mids:
            packet = b"".join([_PUBACK_STRUCT.pack(_PUBACK, 2, mid) for mid in mids])
            self._client._client._packet_queue(_PUBACK, packet, 0, 0)

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


def _dispatch(conn: Connection, handle: Callable[[Message], None] | None) -> None:
    # Straight from the socket: no queue and no task per message (aiomqtt's iterator
    # costs both), and installed before CONNACK, since a persistent session delivers
    # what the broker kept as soon as we connect, before any subscribe.
    paho = conn._client._client
    if handle is not None:

        def on_message(_client: Any, _userdata: Any, m: Any) -> None:
            try:
                topic = m.topic
            except UnicodeDecodeError:  # refused on ingest as a bad topic, not a crash
                topic = m._topic.decode("utf-8", "replace")
            handle(Message(topic, m.payload, m.mid, m.qos, m.retain))

        paho.on_message = on_message
        conn._reader.handle = handle
    # paho has no hook for this; aiomqtt calls loop_read when the socket is readable.
    paho.loop_read = conn._reader.loop_read  # type: ignore[method-assign]


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


_PUBLISH = 0x30
_PUBACK = 0x40
_PUBACK_STRUCT = struct.Struct("!BBH")
_U16 = struct.Struct("!H")
_READ_SIZE = 256 * 1024


class _FastReader:
    """paho's ``loop_read``, reading the socket a buffer at a time.

    paho reads each packet with three or more ``recv`` calls and decodes a PUBLISH
    into an MQTTMessage with a Properties object; at 10,000 results per second that
    was a third of the engine's time (bench/ingest.py). This reads what the socket
    has, and hands each QoS 0/1 PUBLISH without properties straight to ``handle``;
    every other packet (CONNACK, SUBACK, PINGRESP, PUBACK, QoS 2, publishes with
    properties or a topic that is not UTF-8) goes through paho's own handler.
    """

    def __init__(
        self,
        paho: Any,
        handle: Callable[[Message], None] | None,
        acked: Callable[[int, bool], bool],
    ) -> None:
        self.paho = paho
        self.handle = handle
        self.acked = acked
        self.v5 = paho._protocol == 5
        self.buffer = bytearray()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read what is there and handle every complete packet; paho's return codes."""
        paho = self.paho
        sock = paho._sock
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError):
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        except ssl.SSLWantWriteError:
            paho._call_socket_register_write()
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError as exc:
            log.debug("MQTT socket read failed: %s", exc)
            return paho._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)  # type: ignore[no-any-return]
        if not data:
            return paho._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)  # type: ignore[no-any-return]
        with paho._msgtime_mutex:
            paho._last_bytes_received = time.monotonic()
        buf = self.buffer
        buf += data
        rc = self._packets(buf)
        if rc:
            self.buffer = bytearray()
            return paho._loop_rc_handle(rc)  # type: ignore[no-any-return]
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _packets(self, buf: bytearray) -> MQTTErrorCode:
        pos, end = 0, len(buf)
        handle = self.handle
        try:
            while pos + 2 <= end:
                command = buf[pos]
                # Remaining length: 1 to 4 bytes, 7 bits each.
                length, shift, i = 0, 0, pos + 1
                while True:
                    if i >= end:
                        return MQTTErrorCode.MQTT_ERR_SUCCESS  # rest of header not here yet
                    byte = buf[i]
                    length |= (byte & 0x7F) << shift
                    i += 1
                    if not byte & 0x80:
                        break
                    shift += 7
                    if shift > 21:
                        return MQTTErrorCode.MQTT_ERR_PROTOCOL
                start, stop = i, i + length
                if stop > end:
                    return MQTTErrorCode.MQTT_ERR_SUCCESS  # rest of packet not here yet
                kind = command & 0xF0
                if kind == _PUBACK and length >= 2:
                    mid = (buf[start] << 8) | buf[start + 1]
                    # MQTT 5: a reason code may follow; 0x80 and above is a refusal.
                    refused = length > 2 and buf[start + 2] >= 0x80
                    if self.acked(mid, refused):
                        pos = stop
                        continue
                message = None
                if kind == _PUBLISH and handle is not None and length >= 2:
                    message = self._publish(buf, command, start, stop)
                if message is not None:
                    handle(message)  # type: ignore[misc]  # not None: message is set
                else:
                    rc = self._to_paho(command, buf[start:stop])
                    if rc:
                        return rc
                pos = stop
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        finally:
            del buf[:pos]

    def _publish(self, buf: bytearray, command: int, start: int, stop: int) -> Message | None:
        qos = (command >> 1) & 3
        if qos > 1:
            return None
        tlen = (buf[start] << 8) | buf[start + 1]
        at = start + 2 + tlen
        if tlen == 0 or at > stop:
            return None
        try:
            topic = buf[start + 2 : at].decode()
        except UnicodeDecodeError:
            return None
        mid = 0
        if qos:
            if at + 2 > stop:
                return None
            mid = (buf[at] << 8) | buf[at + 1]
            at += 2
        if self.v5:
            if at >= stop or buf[at] != 0:
                return None  # properties: paho decodes those
            at += 1
        return Message(topic, bytes(buf[at:stop]), mid, qos, bool(command & 1))

    def _to_paho(self, command: int, body: bytearray) -> MQTTErrorCode:
        paho = self.paho
        # paho's reader state with this whole packet read, as its _packet_read leaves it.
        paho._in_packet = {
            **_idle_in_packet(),
            "command": command,
            "have_remaining": 1,
            "remaining_length": len(body),
            "packet": body,
        }
        try:
            rc = paho._packet_handle()
        except MalformedPacket as exc:
            log.debug("malformed MQTT packet: %s", exc)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            paho._in_packet = _idle_in_packet()
        return MQTTErrorCode(rc)


def _idle_in_packet() -> dict[str, Any]:
    """The reader state paho keeps between packets."""
    return {
        "command": 0,
        "have_remaining": 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": 0,
        "packet": bytearray(b""),
        "to_process": 0,
        "pos": 0,
    }


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
        _dispatch(conn, on_message)
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
