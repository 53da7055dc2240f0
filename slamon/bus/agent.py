"""A probe agent: the scheduler and probes only, publishing results over MQTT.

Every result goes first into an on-disk spool (SQLite, one row per result) and is
deleted from it only after the broker acknowledged the message that carried it (PUBACK
at QoS 1). Results are published in batches (``slamon.results/2``): what the spool holds
is read in order, grouped by the shard of its monitor, and sent as messages of at most
``[agent] batch_size`` results and ``[bus] max_message_bytes``. A broker outage or an
agent restart loses nothing that reached the spool; results are published in spool
order when the broker returns, each with the same id as before, so a result published
twice is stored once. The spool is bounded: past ``spool_max`` the oldest results are
dropped and counted.

A result reaches the spool within ``spool_interval`` (default 100 ms) of its check
ending; an agent killed in that window loses those checks, as if they had not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from probes.scheduler import Scheduler
from slamon.bus.mqtt import Connection, run_sessions
from slamon.bus.wire import (
    BATCH_OVERHEAD,
    batch_envelope,
    encode_result,
    shard_of,
    shard_topic,
)

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from probes.result import Result
    from slamon.config.model import Config

log = logging.getLogger("slamon.agent")

_CHUNKS = 4  # batches in flight at once


class Spool:
    """An append-only, bounded queue of (key, encoded result) rows in SQLite.

    The agent's key is the result's monitor id; spools written before the batched
    format hold its ``slamon.result/1`` topic there (the column is still ``topic``).
    """

    def __init__(self, path: str | Path, max_items: int) -> None:
        self.path = str(path)
        self.max_items = max_items
        self._db = sqlite3.connect(self.path, isolation_level=None)
        # WAL with NORMAL sync survives a crash of this process; only an OS crash can
        # lose the last commits.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, body BLOB NOT NULL)"
        )
        self.count = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        self.dropped = 0

    def append(self, rows: list[tuple[str, bytes]]) -> None:
        """Add rows; drop the oldest beyond the bound."""
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT INTO outbox (topic, body) VALUES (?, ?)", rows)
            self.count += len(rows)
            excess = self.count - self.max_items
            if excess > 0:
                db.execute(
                    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                    (excess,),
                )
                self.count -= excess
                self.dropped += excess
                log.error(
                    "spool full (%d results): dropped the %d oldest, %d so far",
                    self.max_items,
                    excess,
                    self.dropped,
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def read(self, limit: int, after: int = 0) -> list[tuple[int, str, bytes]]:
        """The oldest ``limit`` rows after sequence number ``after``, as (seq, topic, body)."""
        return self._db.execute(
            "SELECT seq, topic, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()

    def remove(self, seqs: list[int]) -> None:
        """Delete published rows."""
        if not seqs:
            return
        db = self._db
        db.execute("BEGIN")
        cur = db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        db.execute("COMMIT")
        self.count -= max(cur.rowcount, 0)

    def remove_range(self, first: int, last: int) -> None:
        """Delete the rows from ``first`` to ``last`` (sequence numbers, inclusive).

        What ``read`` returned is such a range: rows are numbered in the order they
        came, and a number is never used again.
        """
        cur = self._db.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", (first, last))
        self.count -= max(cur.rowcount, 0)

    def close(self) -> None:
        """Close the database file."""
        self._db.close()


class Agent:
    """Collects results into the spool and drains the spool to the broker."""

    def __init__(
        self,
        config: Config,
        location: str,
        spool: Spool,
        *,
        window: int = 2000,
        spool_interval: float = 0.1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.location = location
        self.prefix = config.bus.topic_prefix
        self.spool = spool
        self.window = window
        self.spool_interval = spool_interval
        self.clock = clock
        self.client_id = config.agent.client_id.format(location=location)
        self.shards = config.bus.shards
        self.batch_size = config.agent.batch_size
        self.max_bytes = config.bus.max_message_bytes
        self._topics: dict[str, str] = {}  # spool key -> shard topic
        self._pending: list[tuple[str, bytes]] = []
        self._spooled = asyncio.Event()
        self.published = 0
        self.messages = 0
        self.refused = 0
        self.connected = False

    def sink(self, result: Result) -> None:
        """Take a result from the scheduler (never blocks)."""
        self._pending.append((result.monitor_id, encode_result(result)))

    def _topic(self, key: str) -> str:
        topic = self._topics.get(key)
        if topic is None:
            # A spool from before the batched format holds <prefix>/results/<loc>/<monitor>.
            monitor = key.rsplit("/", 1)[-1]
            shard = shard_of(monitor, self.shards)
            topic = self._topics[key] = shard_topic(self.prefix, self.location, shard)
        return topic

    def batches(self, rows: list[tuple[int, str, bytes]]) -> list[tuple[str, list[bytes], int]]:
        """Group spool rows into messages: (topic, encoded results, how many), in order."""
        by_topic: dict[str, list[bytes]] = {}
        for _, key, body in rows:
            topic = self._topic(key)
            group = by_topic.get(topic)
            if group is None:
                group = by_topic[topic] = []
            group.append(body)
        out: list[tuple[str, list[bytes], int]] = []
        room = self.max_bytes - BATCH_OVERHEAD
        for topic, bodies in by_topic.items():
            batch: list[bytes] = []
            size = 0
            for body in bodies:
                # One more result and its comma.
                if batch and (len(batch) >= self.batch_size or size + len(body) + 1 > room):
                    out.append((topic, batch, len(batch)))
                    batch, size = [], 0
                batch.append(body)
                size += len(body) + 1
            if batch:
                out.append((topic, batch, len(batch)))
        return out

    def spool_pending(self) -> None:
        """Move collected results into the spool."""
        if self._pending:
            rows, self._pending = self._pending, []
            self.spool.append(rows)
            self._spooled.set()

    async def _spool_forever(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.spool_interval)
                self.spool_pending()
        finally:
            self.spool_pending()

    async def _session(self, conn: Connection) -> None:
        # Pipelined: up to _CHUNKS chunks of window/_CHUNKS results in flight at once,
        # each published as one message per shard (or more, past batch_size), so the
        # next chunk does not wait for the broker to acknowledge the previous one.
        # A chunk leaves the spool only once all of it is acknowledged; if the
        # connection is lost, everything not yet removed is published again on the
        # next one (the engine dedups result ids).
        size = max(1, self.window // _CHUNKS)
        in_flight: set[asyncio.Task[None]] = set()
        sent_through = 0  # the highest spool sequence number published on this connection
        try:
            while True:
                for task in [t for t in in_flight if t.done()]:
                    in_flight.discard(task)
                    task.result()  # a lost connection ends the session here
                if len(in_flight) < _CHUNKS:
                    self._spooled.clear()
                    rows = self.spool.read(size, after=sent_through)
                    if rows:
                        sent_through = rows[-1][0]
                        in_flight.add(asyncio.create_task(self._publish(conn, rows)))
                        continue
                waiting: set[asyncio.Future[Any]] = set(in_flight)
                spooled = None
                if len(in_flight) < _CHUNKS:
                    spooled = asyncio.ensure_future(self._spooled.wait())
                    waiting.add(spooled)
                try:
                    await asyncio.wait(waiting, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if spooled is not None:
                        spooled.cancel()
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _publish(self, conn: Connection, rows: list[tuple[int, str, bytes]]) -> None:
        batches = self.batches(rows)
        sent_at = self.clock()
        accepted = await conn.publish_many(
            [(topic, batch_envelope(bodies, sent_at, self.shards)) for topic, bodies, _ in batches]
        )
        self.spool.remove_range(rows[0][0], rows[-1][0])
        refused = sum(n for (_, _, n), ok in zip(batches, accepted, strict=True) if not ok)
        self.messages += len(batches)
        self.published += len(rows) - refused
        if refused:
            # Retrying would block the spool forever (an ACL or size limit).
            self.refused += refused
            log.error(
                "the broker refused %d results (not authorized, or too large?); %d refused so far",
                refused,
                self.refused,
            )

    def _on_state(self, connected: bool) -> None:
        self.connected = connected

    async def run(self) -> None:
        """Spool and publish until cancelled; what is spooled stays for the next start."""
        spooler = asyncio.create_task(self._spool_forever(), name="agent-spool")
        try:
            await run_sessions(
                self.config.bus, self.client_id, self._session, on_state=self._on_state
            )
        finally:
            spooler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await spooler


class AgentCollector(Collector):
    """The agent's spool and publishing counters, read at scrape time."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def collect(self) -> Iterable[Metric]:
        """Yield the agent's metric families."""
        a, labels = self.agent, ["location"]

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric([a.location], value)
            return g

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            c = CounterMetricFamily(name, doc, labels=labels)
            c.add_metric([a.location], value)
            return c

        yield gauge(
            "slamon_agent_spool_results",
            "Results in the on-disk spool, not yet acknowledged by the broker.",
            a.spool.count + len(a._pending),
        )
        yield counter(
            "slamon_agent_spool_dropped",
            "Oldest results dropped because the spool was full.",
            a.spool.dropped,
        )
        yield counter("slamon_agent_published", "Results the broker acknowledged.", a.published)
        yield counter(
            "slamon_agent_messages_published",
            "MQTT messages (batches of results) published and acknowledged or refused.",
            a.messages,
        )
        yield counter("slamon_agent_refused", "Results the broker refused (ACL, size).", a.refused)
        yield gauge(
            "slamon_agent_connected", "Whether the agent is connected to the broker.", a.connected
        )


async def _serve_metrics(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    # The bound port, not the configured one: with metrics_port = 0 the kernel picks it.
    bound = runner.addresses[0]
    log.info("agent metrics at http://%s:%d/metrics", bound[0], bound[1])
    return runner


async def run_agent(config: Config, location: str, spool_path: str | None = None) -> None:
    """Run the scheduler for ``location`` and publish its results until cancelled."""
    path = spool_path or config.agent.spool.format(location=location)
    spool = Spool(path, config.agent.spool_max)
    agent = Agent(config, location, spool)
    checks = config.checks(location)
    scheduler = Scheduler(
        checks,
        location=location,
        sink=agent.sink,
        concurrency=config.scheduler.concurrency,
    )
    log.info(
        "agent %s: %d monitors, spool %s (%d results waiting), broker %s:%d",
        location,
        len(checks),
        path,
        spool.count,
        config.bus.host,
        config.bus.port,
    )
    runner = None
    if config.agent.metrics_port is not None:
        registry = CollectorRegistry()
        registry.register(AgentCollector(agent))
        runner = await _serve_metrics(
            registry, config.agent.metrics_host, config.agent.metrics_port
        )
    tasks = [
        asyncio.create_task(agent.run(), name="agent"),
        asyncio.create_task(scheduler.run(), name="scheduler"),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        if runner is not None:
            await runner.cleanup()
        for task in reversed(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        agent.spool_pending()
        spool.close()
