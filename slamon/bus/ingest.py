"""The engine's side of MQTT: take results from agents, acknowledge them once stored.

Each message on ``<prefix>/results/+/shard/+`` (a batch, ``slamon.results/2``) or
``<prefix>/results/+/+`` (one result, ``slamon.result/1``, from agents not yet upgraded)
is validated (``slamon.bus.wire``), its agent's clock skew measured (``slamon.bus.skew``),
and its results handed to the engine, which hands them to the writer. The PUBACK goes
back to the broker only when the writer has committed every result of the message to
the store (or dropped it for good, counted, past its bound), in the order the messages
came. Until then the broker keeps the message in the engine's persistent session: if
the engine is killed, the broker delivers it again, and the store, keyed on the result
id, keeps each result once. While more results wait for the store than half the
writer's bound, the engine stops reading (the broker holds the rest), so a backlog of
batches never overflows the writer while the store keeps up.

State changes go out as the retained ``<prefix>/state/<monitor>`` and as events on
``<prefix>/events/state/<monitor>``, incidents on ``<prefix>/events/incident/<id>``;
``publish_event`` is there for other event kinds (breaches).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slamon.bus.mqtt import Connection, Message, run_sessions
from slamon.bus.skew import ClockSkew
from slamon.bus.wire import (
    Decoder,
    Reject,
    Rejected,
    batch_envelope,
    encode_result,
    shard_of,
    shard_topic,
)
from slamon.events import StateChange, incident_json

if TYPE_CHECKING:
    from probes.result import Result
    from slamon.config.model import Config
    from slamon.engine import Engine
    from slamon.events import IncidentEvent
    from slamon.store.writer import Writer

log = logging.getLogger("slamon.ingest")

_LOG_FIRST = 10
_LOG_EVERY = 1000
_MAX_EVENTS = 10_000
_NOT_IN_A_LEVEL = str.maketrans({"/": "_", "+": "_", "#": "_", "\0": "_"})


@dataclass(slots=True)
class _Pending:
    """A received QoS 1 message waiting for its PUBACK."""

    generation: int
    mid: int
    done: bool = False
    remaining: int = 0  # its results not yet settled by the writer


class MqttIngest:
    """Subscribes to results, feeds the engine, acknowledges, publishes state."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        writer: Writer,
        *,
        client_id: str | None = None,
        topics: Sequence[str] | None = None,
        shared_writer: bool = False,
        publish_states: bool = True,
    ) -> None:
        """Subscribe as ``client_id`` to ``topics`` (default: every result topic).

        ``shared_writer``: several ingests (a cluster's shards) share the writer; the
        caller hands each one its settled results (``settled``). ``publish_states``:
        publish the engine's state changes (one ingest per engine does).
        """
        self.config = config
        self.client_id = client_id or config.bus.client_id
        prefix = config.bus.topic_prefix
        # Batches by shard (slamon.results/2), and single results from agents not yet
        # upgraded (slamon.result/1): the two never match the same topic.
        self.topics = (
            list(topics)
            if topics is not None
            else [f"{prefix}/results/+/shard/+", f"{prefix}/results/+/+"]
        )
        # Set once subscribed (a cluster measures a shard's failover to here).
        self.subscribed = asyncio.Event()
        # A shard being handed over: reading stays stopped until the end.
        self.holding = False
        self.settings = config.bus
        self.prefix = config.bus.topic_prefix
        self.engine = engine
        self.allowed = {m.id: frozenset(config.locations_for(m)) for m in config.monitors}
        self.names = {m.id: m.display_name for m in config.monitors}
        self.writer = writer
        self.decoder = Decoder(
            prefix=self.prefix, monitors=self.allowed, max_bytes=config.bus.max_message_bytes
        )
        self.skews: dict[str, ClockSkew] = {}
        self.received = 0
        self.results_received = 0
        self.rejected: Counter[str] = Counter()
        # Results refused one by one inside an accepted batch (slamon.results/2).
        self.results_rejected: Counter[str] = Counter()
        self.paused = 0  # times reading stopped for the writer to catch up
        self._unsettled = 0  # results handed on and not yet settled by the writer
        self._max_unsettled = max(1, writer.max_pending // 2)
        self._shard_counts: dict[str, int] = {}
        self.internal_errors = 0
        self.connected = False
        self.events_dropped = 0
        self._acks: deque[_Pending] = deque()
        self._by_id: dict[str, _Pending | list[_Pending]] = {}
        self._generation = 0
        self._conn: Connection | None = None
        self._states: dict[str, bytes] = {}
        self._events: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        if not shared_writer:
            previous = writer.on_settled

            def settled(results: Sequence[Result]) -> None:
                if previous is not None:
                    previous(results)
                self._settled(results)

            writer.on_settled = settled
        if publish_states:
            engine.listeners.append(self._state_changed)

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config's monitors (the broker settings wait for a restart)."""
        self.allowed = {m.id: frozenset(config.locations_for(m)) for m in config.monitors}
        self.names = {m.id: m.display_name for m in config.monitors}

    def behind(self) -> float:
        """Seconds the latest results arrived later than the quickest of recent ones.

        Each location's clock skew estimate is its quickest recent transit (receive
        minus sent_at); how much later than that its last message came is time the
        message waited in the broker or in the engine's queue. A location silent for
        10 s has no say (its last message says nothing about now).
        """
        now = time.monotonic()
        return max(
            (
                s.last_sample - s.estimate
                for s in self.skews.values()
                if s.estimate is not None and now - s.last_received < 10
            ),
            default=0.0,
        )

    @property
    def unacked(self) -> int:
        """Messages received and not yet acknowledged."""
        return len(self._acks)

    async def run(self) -> None:
        """Stay subscribed until cancelled, reconnecting as needed."""
        await run_sessions(
            self.settings,
            self.client_id,
            self._session,
            manual_ack=True,
            on_message=self.handle,
            on_connecting=self._connecting,
            on_state=self._on_state,
        )

    def _connecting(self, conn: Connection) -> None:
        # Messages not acknowledged on the previous connection come again on this one.
        self._generation += 1
        self._acks.clear()
        self._by_id.clear()
        self._unsettled = 0
        self._conn = conn
        if self.holding:
            conn.pause_reading()

    def _on_state(self, connected: bool) -> None:
        self.connected = connected

    async def _session(self, conn: Connection) -> None:
        if self._states or self._events:
            self._outbox_ready.set()
        publisher = asyncio.create_task(self._publish_outbox(conn), name="mqtt-outbox")
        flow = asyncio.create_task(self._watch_flow(conn), name="mqtt-flow")
        try:
            for topic in self.topics:
                await conn.subscribe(topic, qos=1)
            self.subscribed.set()
            await conn.wait_closed()
        finally:
            self._conn = None
            self._outbox_ready.set()  # wakes the publisher to see it is done
            publisher.cancel()
            flow.cancel()
            await asyncio.gather(publisher, flow, return_exceptions=True)

    def handle(self, message: Message) -> None:
        """Validate one message and ingest its results; never raises."""
        self.received += 1
        entry = None
        if message.qos > 0:
            entry = _Pending(self._generation, message.mid)
            self._acks.append(entry)
        try:
            self._ingest(message, entry)
        except Rejected as exc:
            self._reject(message.topic, exc)
        except Exception:
            # A bug here must not stop ingestion; what was not handed on is
            # acknowledged and lost, loudly, rather than redelivered forever.
            self.internal_errors += 1
            log.exception("ingesting a message on %s failed", message.topic[:200])
        if entry is not None and entry.remaining == 0:
            entry.done = True  # nothing of it waits for the store
            self._release()
        elif self._unsettled >= self._max_unsettled:
            self._flow()

    def _ingest(self, message: Message, entry: _Pending | None) -> None:
        batch = self.decoder.decode(message.topic, message.payload)
        for exc in batch.rejected:
            self._reject_result(message.topic, exc)
        if batch.shards is not None:
            self._note_shards(batch.location, batch.shards)
        results = batch.results
        if not results:
            return
        location = batch.location
        now = datetime.now(UTC)
        sample = (now - batch.sent_at).total_seconds()
        if sample < -self.settings.max_clock_skew:
            raise Rejected(
                Reject.CLOCK,
                f"sent {-sample:.0f}s in the future, more than bus.max_clock_skew allows",
            )
        skew = self.skews.get(location)
        if skew is None:
            skew = self.skews[location] = ClockSkew(
                tolerance=self.settings.clock_skew_tolerance, settle=self.settings.clock_settle
            )
        before = skew.correction
        skew.add(time.monotonic(), sample)
        correction = skew.correction
        if correction != before:
            log.warning(
                "location %s: agent clock is %.1fs %s the engine's; correcting its times by %+.1fs",
                location,
                abs(correction or sample),
                "behind" if (correction or sample) > 0 else "ahead of",
                correction,
                extra={"location": location},
            )
        self.results_received += len(results)
        ingest = self.engine.ingest
        by_id = self._by_id
        for result in results:
            if entry is None:  # QoS 0: nothing to acknowledge
                ingest(result, correction=correction, received_at=now)
                continue
            # The message waits for the writer to settle this result id.
            entry.remaining += 1
            self._unsettled += 1
            other = by_id.get(result.id)
            if other is None:
                by_id[result.id] = entry
            elif isinstance(other, list):
                other.append(entry)
            else:
                by_id[result.id] = [other, entry]
            try:
                ingest(result, correction=correction, received_at=now)
            except Exception:
                # A bug on one result: the rest of the batch goes on.
                self._forget(result.id, entry)  # never reaches the writer
                self.internal_errors += 1
                log.exception("ingesting result %s on %s failed", result.id, message.topic[:200])

    def _forget(self, result_id: str, entry: _Pending) -> None:
        entry.remaining -= 1
        self._unsettled -= 1
        waiting = self._by_id.pop(result_id, None)
        if isinstance(waiting, list):
            waiting.remove(entry)
            if waiting:
                self._by_id[result_id] = waiting if len(waiting) > 1 else waiting[0]

    def _note_shards(self, location: str, shards: int) -> None:
        if self._shard_counts.get(location) == shards:
            return
        self._shard_counts[location] = shards
        if shards != self.settings.shards:
            # One engine holds every shard for now: the results are ingested all the same.
            log.warning(
                "location %s: its agent groups results into %d shards, bus.shards is %d",
                location,
                shards,
                self.settings.shards,
                extra={"location": location},
            )

    def _reject(self, topic: str, exc: Rejected) -> None:
        n = self.rejected[exc.reason] = self.rejected[exc.reason] + 1
        if n <= _LOG_FIRST or n % _LOG_EVERY == 0:
            log.warning(
                "rejected a message on %s: %s (%d %s rejections so far)",
                topic[:200],
                exc,
                n,
                exc.reason,
            )

    def _reject_result(self, topic: str, exc: Rejected) -> None:
        n = self.results_rejected[exc.reason] = self.results_rejected[exc.reason] + 1
        if n <= _LOG_FIRST or n % _LOG_EVERY == 0:
            log.warning(
                "rejected a result in a batch on %s: %s (%d %s results rejected so far)",
                topic[:200],
                exc,
                n,
                exc.reason,
            )

    def hold(self) -> None:
        """Stop reading for good (a shard handed over): what is read is still settled."""
        self.holding = True
        if self._conn is not None:
            self._conn.pause_reading()

    def settled(self, results: Sequence[Result]) -> None:
        """These results are committed (or dropped for good): acknowledge their messages."""
        self._settled(results)

    def _settled(self, results: Sequence[Result]) -> None:
        by_id = self._by_id
        if not by_id:
            return
        settled = 0
        for r in results:
            waiting = by_id.pop(r.id, None)
            if waiting is None:
                continue
            for e in waiting if isinstance(waiting, list) else (waiting,):
                settled += 1
                e.remaining -= 1
                if e.remaining == 0:
                    e.done = True
        self._unsettled -= settled
        self._release()
        if self._conn is not None and not self._conn.reading:
            self._flow()

    def _flow(self) -> None:
        # Stop reading while the writer has more than it should take from us, and
        # read again once it caught up. A failing store does not stop reading: the
        # engine goes on confirming states, and the writer drops raw results (counted)
        # past its bound.
        conn = self._conn
        if conn is None or self.holding:
            return
        if conn.reading:
            if self._unsettled >= self._max_unsettled and self.writer.healthy:
                conn.pause_reading()
                self.paused += 1
        elif self._unsettled <= self._max_unsettled // 2 or not self.writer.healthy:
            conn.resume_reading()

    async def _watch_flow(self, conn: Connection) -> None:
        # The writer may start failing while reading is paused.
        while True:
            await asyncio.sleep(0.5)
            if not conn.reading:
                self._flow()

    def _release(self) -> None:
        # PUBACKs go out in the order the messages came (MQTT 4.6).
        acks, conn, generation = self._acks, self._conn, self._generation
        mids = []
        while acks and acks[0].done:
            entry = acks.popleft()
            if entry.generation == generation:
                mids.append(entry.mid)
        if conn is not None:
            conn.ack_many(mids)  # one write for them all

    # -- state and events --------------------------------------------------------

    def _state_changed(self, change: StateChange) -> None:
        monitor_id = change.monitor_id
        owned = self.engine.owned
        if owned is not None and monitor_id not in owned:
            return  # another engine's shard: that engine publishes it
        locations = {v.location: v.state.value for v in self.engine.location_views(monitor_id)}
        state = {
            "monitor": monitor_id,
            "name": self.names.get(monitor_id, monitor_id),
            "state": change.state.value,
            "since": change.at.isoformat(),
            "quorum": self.engine.quorum(monitor_id),
            "locations": locations,
        }
        self._states[monitor_id] = json.dumps(state, separators=(",", ":")).encode()
        event = {"type": "state_change", "previous": change.previous.value, **state}
        self.publish_event("state", monitor_id, event)

    def incident_changed(self, event: IncidentEvent) -> None:
        """An incident opened, changed or resolved: ``<prefix>/events/incident/<id>``."""
        payload = {
            "type": "incident",
            "status": event.kind.value,
            "incident": incident_json(event.incident),
        }
        self.publish_event("incident", event.incident.id, payload)

    def forward(self, result: Result) -> None:
        """Publish a result taken here (a push heartbeat) on its shard's topic.

        In a cluster the engine that holds the monitor's shard ingests it, whichever
        engine the heartbeat reached. It waits in the outbox while the broker is away.
        """
        shards = self.settings.shards
        topic = shard_topic(self.prefix, result.location, shard_of(result.monitor_id, shards))
        body = batch_envelope([encode_result(result)], datetime.now(UTC), shards)
        self._events.append((topic, body))
        self._outbox_ready.set()

    def publish_event(self, kind: str, subject: str, payload: Mapping[str, object]) -> None:
        """Queue an event for ``<prefix>/events/<kind>/<subject>`` (QoS 1, not retained).

        Events wait while the broker is away; past 10,000 the oldest are dropped and
        counted.
        """
        # A subject is one topic level: no separators or wildcards from ids.
        subject = subject.translate(_NOT_IN_A_LEVEL) or "_"
        topic = f"{self.prefix}/events/{kind}/{subject}"
        self._events.append((topic, json.dumps(payload, separators=(",", ":")).encode()))
        while len(self._events) > _MAX_EVENTS:
            self._events.popleft()
            self.events_dropped += 1
        self._outbox_ready.set()

    async def _publish_outbox(self, conn: Connection) -> None:
        # Ends when cancelled, and also as soon as this connection is no longer the
        # current one: a cancellation lost inside a library must not keep it alive.
        while self._conn is conn:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._states and self._conn is conn:
                monitor_id, body = next(iter(self._states.items()))
                topic = f"{self.prefix}/state/{monitor_id}"
                if not await conn.publish(topic, body, retain=True):
                    self._refused(topic)
                if self._states.get(monitor_id) is body:
                    del self._states[monitor_id]
            while self._events and self._conn is conn:
                topic, body = self._events[0]
                if not await conn.publish(topic, body):
                    self._refused(topic)
                if self._events and self._events[0][1] is body:
                    self._events.popleft()

    def _refused(self, topic: str) -> None:
        # Publishing it again would be refused again (an ACL, a size limit): dropped.
        self.events_dropped += 1
        if self.events_dropped <= _LOG_FIRST or self.events_dropped % _LOG_EVERY == 0:
            log.warning(
                "the broker refused the engine's message on %s (not authorized?); "
                "%d state and event messages dropped so far",
                topic[:200],
                self.events_dropped,
            )

    def flush_acks(self) -> None:
        """Acknowledge what the writer has settled (at shutdown, after its last flush)."""
        self._release()
