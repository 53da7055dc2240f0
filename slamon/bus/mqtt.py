"""The one module of the bus that knows the MQTT client library (paho-mqtt).

Everything MQTT that the engine and the agents do goes through here: connecting with
TLS and a username/password from the config, a persistent session under a stable
client id, QoS 1 publishing that reports what the broker refused, subscribing with
acknowledgements the caller sends when it is ready (manual PUBACK), and reconnecting
with backoff. An upgrade of the library touches this file.

It drives paho's client on the asyncio loop through paho's public API for external
event loops (``on_socket_*`` callbacks, ``loop_read``, ``loop_write``, ``loop_misc``),
as paho's ``examples/loop_asyncio.py`` and aiomqtt do. aiomqtt 2.x (used by the MQTT
probe and notifier) cannot do three things the bus needs: acknowledge a message only
once it is stored (manual acknowledgement: aiomqtt issue #345, pending in 3.0, which is
MQTT 5 only), tell a PUBACK that refuses a publish (MQTT 5 reason code 0x80 and over)
from one that accepts it, and wake a waiting publish when the connection is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

if TYPE_CHECKING:
    from paho.mqtt.reasoncodes import ReasonCode

    from slamon.config.bus import BusConfig

log = logging.getLogger("slamon.mqtt")

_PUBLISH_TIMEOUT = 30.0
_CONNECT_TIMEOUT = 10.0
_KEEPALIVE = 30


class MqttError(Exception):
    """The connection to the broker failed or was lost."""


@dataclass(frozen=True, slots=True)
class Message:
    """One received message; acknowledge it (``ack_many``) once it is safely handled."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool


class _Publishes:
    """Messages of one ``publish_many`` call still waiting for their PUBACK."""

    __slots__ = ("accepted", "future", "remaining")

    def __init__(self, count: int, future: asyncio.Future[None]) -> None:
        self.accepted = [True] * count
        self.remaining = count
        self.future = future


class Connection:
    """A connected client: publish, subscribe, receive, acknowledge."""

    def __init__(
        self,
        client: paho.Client,
        settings: BusConfig,
        on_message: Callable[[Message], None] | None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.connected: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self._handle = on_message
        self._publishes: dict[int, tuple[_Publishes, int]] = {}
        self._subscribes: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._fd = -1
        self._reading = False
        self._paused = False
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write

    # -- paho's callbacks (on the loop's thread, or on the connecting thread) -------

    def _soon(self, fn: Callable[..., object], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def _on_socket_open(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        self._soon(self._opened, sock.fileno())

    def _opened(self, fd: int) -> None:
        if self.closed.done():
            return
        self._fd = fd
        self._set_reading(not self._paused)

    def _on_socket_close(self, _client: paho.Client, _userdata: Any, sock: Any) -> None:
        self._soon(self._forget_socket, sock.fileno())

    def _forget_socket(self, fd: int) -> None:
        if fd == self._fd and fd >= 0:
            self._set_reading(False)
            self.loop.remove_writer(fd)
            self._fd = -1
        self._lost(MqttError("connection closed"))

    def _on_register_write(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        self._soon(self._want_write, True)

    def _on_unregister_write(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        self._soon(self._want_write, False)

    def _want_write(self, on: bool) -> None:
        if self._fd < 0:
            return
        if on:
            self.loop.add_writer(self._fd, self._writable)
        else:
            self.loop.remove_writer(self._fd)

    def _set_reading(self, on: bool) -> None:
        if on == self._reading or self._fd < 0:
            return
        self._reading = on
        if on:
            self.loop.add_reader(self._fd, self._readable)
        else:
            self.loop.remove_reader(self._fd)

    def _readable(self) -> None:
        try:
            rc = self.client.loop_read()
            sock = self.client.socket()
            # A TLS socket may hold decrypted bytes the selector does not see.
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and sock is not None:
                pending = getattr(sock, "pending", None)
                if pending is None or not pending():
                    break
                rc = self.client.loop_read()
        except Exception as exc:  # a broken socket: the connection is lost
            self._lost(MqttError(f"read failed: {exc}"))

    def _writable(self) -> None:
        try:
            self.client.loop_write()
        except Exception as exc:
            self._lost(MqttError(f"write failed: {exc}"))

    def _on_connect(
        self,
        _client: paho.Client,
        _userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self.connected.done():
            return
        if reason_code.is_failure:
            self.connected.set_exception(MqttError(f"connection refused: {reason_code}"))
        else:
            self.connected.set_result(None)

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: Any,
        _flags: Any,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._lost(MqttError(f"disconnected: {reason_code}"))

    def _lost(self, exc: MqttError) -> None:
        if not self.connected.done():
            self.connected.set_exception(exc)
        if not self.closed.done():
            self.closed.set_exception(exc)
        for waiting, _ in list(self._publishes.values()):
            if not waiting.future.done():
                waiting.future.set_exception(exc)
        self._publishes.clear()
        for future in self._subscribes.values():
            if not future.done():
                future.set_exception(exc)
        self._subscribes.clear()

    def _on_message(self, _client: paho.Client, _userdata: Any, m: paho.MQTTMessage) -> None:
        if self._handle is None:
            return
        try:
            topic = m.topic
        except UnicodeDecodeError:  # refused on ingest as a bad topic, not a crash
            topic = "\ufffd"
        payload = m.payload if isinstance(m.payload, bytes) else bytes(m.payload)
        self._handle(Message(topic, payload, m.mid, m.qos, bool(m.retain)))

    def _on_publish(
        self,
        _client: paho.Client,
        _userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        entry = self._publishes.pop(mid, None)
        if entry is None:
            return
        waiting, index = entry
        if reason_code.is_failure:
            waiting.accepted[index] = False
        waiting.remaining -= 1
        if waiting.remaining == 0 and not waiting.future.done():
            waiting.future.set_result(None)

    def _on_subscribe(
        self,
        _client: paho.Client,
        _userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        future = self._subscribes.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(reason_codes)

    # -- what the bus uses ---------------------------------------------------------------

    async def publish_many(
        self, messages: Sequence[tuple[str, bytes]], *, retain: bool = False
    ) -> list[bool]:
        """Publish at QoS 1, all in flight at once; return which the broker accepted.

        Raises MqttError if the connection is lost or the acknowledgements do not come
        within 30 seconds; then none of them is known to have arrived.
        """
        if not messages:
            return []
        if self.closed.done():
            raise MqttError("not connected")
        waiting = _Publishes(len(messages), self.loop.create_future())
        mids = []
        try:
            for index, (topic, payload) in enumerate(messages):
                if not topic or "+" in topic or "#" in topic:
                    raise ValueError(f"not a topic to publish to: {topic[:200]!r}")
                info = self.client.publish(topic, payload, qos=1, retain=retain)
                if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    raise MqttError(f"publish failed: {paho.error_string(info.rc)}")
                mids.append(info.mid)
                self._publishes[info.mid] = (waiting, index)
            # asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a
            # cancellation that arrives as the PUBACK does.
            done, _ = await asyncio.wait((waiting.future,), timeout=_PUBLISH_TIMEOUT)
        finally:
            for mid in mids:
                entry = self._publishes.get(mid)
                if entry is not None and entry[0] is waiting:
                    del self._publishes[mid]
        if not done:
            waiting.future.cancel()
            raise MqttError("no acknowledgement while publishing")
        waiting.future.result()  # raises MqttError if the connection was lost
        return waiting.accepted

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish at QoS 1 and wait for its PUBACK; False if the broker refused it.

        A refusal is an ACL or a size limit; a lost connection raises MqttError.
        """
        [accepted] = await self.publish_many([(topic, payload)], retain=retain)
        return accepted

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe to ``topic`` (wildcards allowed); MqttError if the broker refuses.

        Waits for the SUBACK as long as the connection lasts, without a timeout: a
        persistent session delivers what the broker kept before it (a backlog can take
        a while), and while reading is paused for the store it is not read at all.
        """
        rc, mid = self.client.subscribe(topic, qos=qos)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise MqttError(f"subscribe failed: {paho.error_string(rc)}")
        future: asyncio.Future[list[ReasonCode]] = self.loop.create_future()
        self._subscribes[mid] = future
        try:
            codes = await future  # failed by _lost if the connection goes
        finally:
            self._subscribes.pop(mid, None)
        if any(code.is_failure for code in codes):
            raise MqttError(f"the broker refused the subscription to {topic}: {codes}")

    async def wait_closed(self) -> None:
        """Return (raising MqttError) when the connection is lost."""
        await asyncio.shield(self.closed)

    def ack_many(self, mids: Sequence[int]) -> None:
        """Send the PUBACKs for these QoS 1 messages, in this order."""
        ack = self.client.ack
        for mid in mids:
            ack(mid, 1)

    def pause_reading(self) -> None:
        """Stop reading from the broker (it holds what it has for us) until resumed."""
        self._paused = True
        self._set_reading(False)

    def resume_reading(self) -> None:
        """Read from the broker again."""
        self._paused = False
        if not self.closed.done():
            self._set_reading(True)

    @property
    def reading(self) -> bool:
        """False while reading is paused."""
        return not self._paused

    async def keep_alive(self) -> None:
        """Send keepalive pings and notice their timeouts until the connection is lost."""
        # paho wants loop_misc every few seconds.
        while self.client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:  # noqa: ASYNC110
            await asyncio.sleep(1)
        self._lost(MqttError("connection lost (keepalive)"))

    async def close(self) -> None:
        """Disconnect cleanly if still connected, and release the socket."""
        if not self.closed.done() and self.client.socket() is not None:
            self.client.disconnect()
            with contextlib.suppress(MqttError, TimeoutError):
                async with asyncio.timeout(2):
                    await asyncio.shield(self.closed)
        if self._fd >= 0:
            self._set_reading(False)
            self.loop.remove_writer(self._fd)
            self._fd = -1
        sock = self.client.socket()
        if sock is not None:
            # Still open (a DISCONNECT that never went out): this client is done with.
            sock.close()
        if not self.closed.done():
            self.closed.set_result(None)
        if self.closed.done() and not self.closed.cancelled():
            self.closed.exception()  # retrieved: no "never retrieved" warning
        if self.connected.done() and not self.connected.cancelled():
            self.connected.exception()


def _tls_context(settings: BusConfig) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    return ssl.create_default_context(cafile=settings.ca_file)


def _client(settings: BusConfig, client_id: str, *, manual_ack: bool) -> paho.Client:
    v5 = settings.protocol == "5"
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else False,
        reconnect_on_failure=False,
        manual_ack=manual_ack,
    )
    client.enable_logger(logging.getLogger("slamon.mqtt.paho"))
    # No client-side limit: paho rescans its outgoing messages on every PUBACK when
    # there is one; the agent's publish window is the limit.
    client.max_inflight_messages_set(0)
    client.connect_timeout = _CONNECT_TIMEOUT
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(settings.username, password)
    context = _tls_context(settings)
    if context is not None:
        client.tls_set_context(context)
    return client


def _connect_properties(settings: BusConfig) -> Properties | None:
    if settings.protocol != "5":
        return None
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    # The broker keeps the session (subscriptions, unacknowledged messages) this long.
    properties.SessionExpiryInterval = int(settings.session_expiry)
    # How many unacknowledged QoS 1 messages the broker may send us at once.
    properties.ReceiveMaximum = settings.receive_maximum
    return properties


Session = Callable[[Connection], Awaitable[None]]


async def _connect(conn: Connection, settings: BusConfig) -> None:
    properties = _connect_properties(settings)

    def connect() -> None:
        # Blocking (name lookup, TCP, TLS handshake): on a thread, as aiomqtt does.
        conn.client.connect(
            settings.host,
            settings.port,
            keepalive=_KEEPALIVE,
            clean_start=False,
            properties=properties,
        )

    try:
        await conn.loop.run_in_executor(None, connect)
    except (OSError, ValueError) as exc:
        raise MqttError(str(exc) or type(exc).__name__) from None
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            await asyncio.shield(conn.connected)
    except TimeoutError:
        raise MqttError("no CONNACK from the broker") from None


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
    the moment of connecting (a persistent session delivers what the broker kept
    before any subscribe); ``on_connecting`` gets each new connection before it
    connects (so messages can be acknowledged on it); ``on_state`` is told whether we
    are connected. With ``manual_ack``, QoS 1 messages are acknowledged only by
    ``Connection.ack_many``.
    """
    backoff = min_backoff
    where = f"{settings.host}:{settings.port}"
    failures = 0
    while True:
        connected = False
        conn = Connection(_client(settings, client_id, manual_ack=manual_ack), settings, on_message)
        if on_connecting is not None:
            on_connecting(conn)
        misc: asyncio.Task[None] | None = None
        try:
            await _connect(conn, settings)
            misc = asyncio.create_task(conn.keep_alive(), name="mqtt-keepalive")
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
            if misc is not None:
                await cancel_quietly(misc)
            await conn.close()
            if on_state and connected:
                on_state(False)
        await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
        backoff = min(backoff * 2, max_backoff)


async def cancel_quietly(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, swallowing its cancellation."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
