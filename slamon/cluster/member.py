"""One engine of a cluster: takes shards by lease, consumes them, leads if it holds "leader".

Every ``renew_every`` seconds the member, in one loop (``run``):

1. says it is alive (``cluster_members``) and counts the live members;
2. renews every lease it holds in one statement; a shard whose lease it no longer
   holds at its epoch is dropped at once (``_lose``), and so is everything when no
   renewal succeeded for a lease's time (self-fencing: another engine may hold it now);
3. gives up the shards above its share (``ceil(shards / members)``, or above the floor
   while another member is below it: ``over_share``; a joining member makes the others
   hand over, reason ``rebalance``), or takes free and expired ones up to its share, in
   an order rotated by its id so that members do not collide;
4. takes the ``leader`` lease if it is free.

A released lease, and a member joining or leaving, is told to the others by
PostgreSQL's ``NOTIFY``; their loop then runs at once instead of at its next tick, so
that a SIGTERM's handover takes a fraction of a second whatever ``renew_every`` is.

Taking a shard (``_take``): its writes are fenced by the new epoch from now on, each
of its monitors' confirmation, quorum and history is restored from the store (the
same path as a restart, ``Engine.adopt``), and only then does a consumer connect as
``<client_id>-shard-<n>`` with a persistent session and subscribe to
``<prefix>/results/+/shard/<n>``: what the broker kept for the shard comes to it.

Handing a shard over (``_give_up``, at SIGTERM or to rebalance): stop reading, write
the shard's checkpoints, flush the writer, acknowledge what it committed, disconnect
(the broker keeps the session), forget the monitors, release the lease. A shard lost
(``_lose``: renewal failed, or the store refused a write by its epoch) is dropped
without acknowledging anything: its next owner gets those messages again.

The leader runs what must happen once (alert evaluation and notifications, incidents,
status-site builds, subscriptions, pruning); every member mirrors the states of the
monitors it does not hold from the store's open intervals each second
(``Engine.mirror``), so each serves the page, APIs and metrics for every monitor, and
the leader's alerts follow the shards of every engine. A leader that loses its lease
stops the process (its supervisor restarts it as an ordinary member): alert state and
the outbox are in the store, so the next leader neither repeats nor drops a
notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import zlib
from collections import Counter as CounterOf
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from sla_engine.time.states import State
from slamon.bus.ingest import MqttIngest
from slamon.bus.mqtt import cancel_quietly
from slamon.bus.wire import shard_of
from slamon.cluster.leases import LEADER, Acquired, Leases, over_share, shard_lease, target
from slamon.store import engine_state

if TYPE_CHECKING:
    from collections.abc import Iterable

    from probes.result import Result
    from slamon.bus.skew import ClockSkew
    from slamon.config.model import Config
    from slamon.engine import Engine
    from slamon.store.sql import Store
    from slamon.store.writer import Writer

log = logging.getLogger("slamon.cluster")

_RESUME_HISTORY = timedelta(days=1)
_MIRROR_EVERY = 1.0
_HANDOVER_GRACE = 5.0

_OPEN = text("SELECT monitor_id, state, start_at FROM state_intervals WHERE end_at IS NULL")


class _Shard:
    """A shard this engine holds: its lease epoch, monitors and consumer."""

    __slots__ = ("consumer", "epoch", "monitors", "number", "task")

    def __init__(self, number: int, epoch: int, monitors: set[str]) -> None:
        self.number = number
        self.epoch = epoch
        self.monitors = monitors
        self.consumer: MqttIngest | None = None
        self.task: asyncio.Task[None] | None = None


class ClusterMetrics:
    """The cluster's series on the engine's /metrics."""

    def __init__(self, member: Member, registry: CollectorRegistry) -> None:
        self.handovers = Counter(
            "slamon_shard_handovers",
            "Shards this engine took from another, by how the other let go "
            "(released, expired, rebalance).",
            ["reason"],
            registry=registry,
        )
        for reason in ("released", "expired", "rebalance"):
            self.handovers.labels(reason)
        self.failover = Histogram(
            "slamon_shard_failover_seconds",
            "From a shard's lease expiring or being released to this engine consuming it.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 15, 20, 30, 60),
            registry=registry,
        )
        self.fence_refusals = Counter(
            "slamon_fence_refusals",
            "Writes the store refused because this engine no longer held the shard's "
            "lease at its epoch.",
            registry=registry,
        )
        registry.register(_Gauges(member))


class _Gauges:
    """Read at scrape time from the member (no database query)."""

    def __init__(self, member: Member) -> None:
        self.member = member

    def collect(self) -> Iterable[GaugeMetricFamily]:
        m = self.member
        owner = GaugeMetricFamily(
            "slamon_shard_owner", "1 for each shard this engine holds.", labels=["shard", "engine"]
        )
        for n in sorted(m.shards):
            owner.add_metric([str(n), m.engine_id], 1)
        yield owner
        leader = GaugeMetricFamily(
            "slamon_cluster_leader", "1 if this engine holds the leader lease.", labels=["engine"]
        )
        leader.add_metric([m.engine_id], 1 if m.leading else 0)
        yield leader
        age = GaugeMetricFamily(
            "slamon_lease_age_seconds",
            "Seconds since this engine took each lease it holds.",
            labels=["lease"],
        )
        now = time.monotonic()
        for name, since in sorted(m.taken_at.items()):
            age.add_metric([name], now - since)
        yield age
        yield GaugeMetricFamily(
            "slamon_cluster_members",
            "Engines seen alive within a lease's time.",
            value=len(m.members),
        )


class ShardIngests:
    """The shards' consumers read as one ingest by /metrics; counters survive handovers."""

    def __init__(self, member: Member, publisher: MqttIngest | None) -> None:
        self.member = member
        self.publisher = publisher
        self._received = 0
        self._results_received = 0
        self._paused = 0
        self._internal_errors = 0
        self._rejected: CounterOf[str] = CounterOf()
        self._results_rejected: CounterOf[str] = CounterOf()
        self._skews: dict[str, ClockSkew] = {}

    def _live(self) -> list[MqttIngest]:
        return [s.consumer for s in self.member.shards.values() if s.consumer is not None]

    def retire(self, consumer: MqttIngest) -> None:
        """Keep what a consumer of a shard given up counted."""
        self._received += consumer.received
        self._results_received += consumer.results_received
        self._paused += consumer.paused
        self._internal_errors += consumer.internal_errors
        self._rejected.update(consumer.rejected)
        self._results_rejected.update(consumer.results_rejected)
        self._skews.update(consumer.skews)

    @property
    def skews(self) -> dict[str, ClockSkew]:
        """Each location's clock, as the shard that heard from it last measured it."""
        out = dict(self._skews)
        for consumer in self._live():
            out.update(consumer.skews)
        return out

    @property
    def received(self) -> int:
        """Messages received on every shard."""
        return self._received + sum(c.received for c in self._live())

    @property
    def rejected(self) -> CounterOf[str]:
        """Messages rejected, by reason."""
        out = CounterOf(self._rejected)
        for c in self._live():
            out.update(c.rejected)
        return out

    @property
    def results_received(self) -> int:
        """Results received on every shard."""
        return self._results_received + sum(c.results_received for c in self._live())

    @property
    def results_rejected(self) -> CounterOf[str]:
        """Results rejected inside accepted batches, by reason."""
        out = CounterOf(self._results_rejected)
        for c in self._live():
            out.update(c.results_rejected)
        return out

    @property
    def paused(self) -> int:
        """Times a shard's reading stopped for the writer."""
        return self._paused + sum(c.paused for c in self._live())

    @property
    def internal_errors(self) -> int:
        """Messages whose ingestion failed on a bug."""
        return self._internal_errors + sum(c.internal_errors for c in self._live())

    @property
    def connected(self) -> bool:
        """The publisher and every held shard's session are connected."""
        publisher = self.publisher is None or self.publisher.connected
        return publisher and all(c.connected for c in self._live())

    @property
    def unacked(self) -> int:
        """Messages received and not yet acknowledged, over every shard."""
        return sum(c.unacked for c in self._live())

    @property
    def events_dropped(self) -> int:
        """State and event messages the broker refused or the outbox dropped."""
        return self.publisher.events_dropped if self.publisher is not None else 0

    def behind(self) -> float:
        """How far behind the slowest shard is."""
        return self.member.behind()


class Member:
    """This engine's part in the cluster (see the module's docstring)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        engine: Engine,
        writer: Writer,
        registry: CollectorRegistry,
        *,
        publisher: MqttIngest | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.engine = engine
        self.writer = writer
        cluster = config.cluster
        self.engine_id = cluster.engine_id
        self.ttl = float(cluster.lease_ttl)
        self.renew_every = float(cluster.renew_every)
        self.count = config.bus.shards
        self.leases = Leases(store.engine, self.engine_id, self.ttl)
        self._shard_of: dict[str, int] = {}
        self.by_shard: dict[int, set[str]] = {}
        self._assign(config)
        self.shards: dict[int, _Shard] = {}
        self.leader_epoch: int | None = None
        self.members: list[str] = []
        self.taken_at: dict[str, float] = {}
        self._renewed = time.monotonic()
        self._rotation = zlib.crc32(self.engine_id.encode())
        # Started when this engine becomes the leader (by app.py), stopped with it.
        self.lead: Callable[[], Coroutine[None, None, None]] | None = None
        self.on_lost_leadership: Callable[[], None] = _stop_process
        self._lock = asyncio.Lock()
        self._stopping = False
        self._joined = False
        self._wake = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self.metrics = ClusterMetrics(self, registry)
        self.ingests = ShardIngests(self, publisher)
        engine.owned = set()
        writer.lease_of = self.lease_of
        writer.on_fenced = self._fenced
        writer.on_settled = self._settled

    def _assign(self, config: Config) -> None:
        self._shard_of = {m.id: shard_of(m.id, self.count) for m in config.monitors}
        self.by_shard = {}
        for monitor_id, n in self._shard_of.items():
            self.by_shard.setdefault(n, set()).add(monitor_id)

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config's monitors (their shards follow from their ids).

        A monitor added to a held shard is this engine's from now on (it starts unknown,
        as any new monitor); one removed was closed by ``Engine.reconfigure``.
        """
        self.config = config
        self._assign(config)
        owned = self.engine.owned if self.engine.owned is not None else set()
        for n, shard in self.shards.items():
            shard.monitors = set(self.by_shard.get(n, ()))
            owned.update(shard.monitors)
            if shard.consumer is not None:
                shard.consumer.reconfigure(config)
        owned.intersection_update(self._shard_of)

    @property
    def leading(self) -> bool:
        """True while this engine holds the leader lease."""
        return self.leader_epoch is not None

    def lease_of(self, monitor_id: str) -> str:
        """The lease that fences the writes of ``monitor_id``."""
        n = self._shard_of.get(monitor_id)
        if n is None:
            n = self._shard_of[monitor_id] = shard_of(monitor_id, self.count)
        return shard_lease(n)

    def behind(self) -> float:
        """How far behind the shards' consumers are (see ``MqttIngest.behind``)."""
        return max(
            (s.consumer.behind() for s in self.shards.values() if s.consumer is not None),
            default=0.0,
        )

    # -- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Hold leases, take and give shards, until cancelled.

        Renewing runs in a task of its own (``_renew_forever``), so that a round that
        takes or hands over shards slowly never delays a renewal.
        """
        helpers = [
            asyncio.create_task(self._renew_forever(), name="cluster-renew"),
            asyncio.create_task(self._mirror_forever(), name="cluster-mirror"),
            asyncio.create_task(self._listen_forever(), name="cluster-listen"),
        ]
        failures = 0
        try:
            while True:
                started = time.monotonic()
                if not self._stopping:
                    try:
                        async with self._lock:
                            await self._round()
                        failures = 0
                    except Exception as exc:
                        failures += 1
                        _sparingly("cluster round", failures, exc)
                    if not self._joined and not failures:
                        self._joined = True
                        with contextlib.suppress(Exception):  # the others rebalance now
                            await self.leases.notify(f"joined {self.engine_id}")
                wait = max(0.05, self.renew_every - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            for task in helpers:
                await cancel_quietly(task)

    async def _renew_forever(self) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self.renew()
                failures = 0
            except Exception as exc:
                failures += 1
                _sparingly("renewing the leases", failures, exc)
            if self.shards or self.leading:
                self._fence_if_stale()
            await asyncio.sleep(max(0.05, self.renew_every - (time.monotonic() - started)))

    async def renew(self) -> None:
        """Say this engine is alive and renew every lease it holds; drop those lost."""
        if not self._stopping:
            await self.leases.heartbeat(len(self.shards))
        held = {shard_lease(n): s.epoch for n, s in self.shards.items()}
        if self.leader_epoch is not None:
            held[LEADER] = self.leader_epoch
        sent = time.monotonic()
        still = await self.leases.renew(held)
        # The database set the expiry after ``sent``: counting from it is on the safe side.
        self._renewed = sent
        for n, shard in list(self.shards.items()):
            name = shard_lease(n)
            if held.get(name) == shard.epoch and name not in still:
                self._lose(n, "lease taken")
        epoch = self.leader_epoch
        if epoch is not None and held.get(LEADER) == epoch and LEADER not in still:
            self._lose_leadership()

    async def _listen_forever(self) -> None:
        # Released leases and members joining or leaving wake the loop at once; without
        # this connection the loop still runs every renew_every.
        while True:
            try:
                await self.leases.listen(self._wake.set)
            except Exception as exc:
                log.warning("not listening for lease changes (%s); will try again", exc)
            await asyncio.sleep(5)

    async def step(self) -> None:
        """One round of ``run``'s loop (tests step members by hand with it)."""
        async with self._lock:
            await self._round()

    def _fence_if_stale(self) -> None:
        # No renewal for a lease's time: another engine may hold them now.
        if time.monotonic() - self._renewed < self.ttl:
            return
        log.error(
            "no lease renewed for %.1fs (lease_ttl %gs): dropping every shard",
            time.monotonic() - self._renewed,
            self.ttl,
        )
        for n in list(self.shards):
            self._lose(n, "not renewed")
        if self.leading:
            self._lose_leadership()

    async def _round(self) -> None:
        holding = await self.leases.heartbeat(len(self.shards))
        holding[self.engine_id] = len(self.shards)
        self.members = sorted(holding)
        share = target(self.count, len(self.members))
        extra = over_share(self.count, holding, self.engine_id)
        if extra:
            await self._give_up(
                sorted(self.shards, key=self._order, reverse=True)[:extra], "rebalance"
            )
        elif len(self.shards) < share:
            await self._take_free(share)
        if not self.leading:
            got = await self.leases.acquire(LEADER)
            if got is not None:
                self._lead(got)

    def _order(self, n: int) -> int:
        return (n - self._rotation) % self.count

    async def _take_free(self, share: int) -> None:
        names = [shard_lease(n) for n in range(self.count)]
        taken = await self.leases.taken(names)
        for n in sorted(range(self.count), key=self._order):
            if len(self.shards) >= share:
                return
            if n in self.shards or shard_lease(n) in taken:
                continue
            if time.monotonic() - self._renewed > self.ttl / 2:
                return  # renew first: the next round takes the rest
            got = await self.leases.acquire(shard_lease(n))
            if got is None:
                continue
            try:
                await self._take(n, got)
            except Exception:
                log.exception("shard %d: restoring its monitors failed; letting it go", n)
                if n in self.shards:
                    self._lose(n, "not restored")
                with contextlib.suppress(Exception):
                    await self.leases.release(got.name, got.epoch, "released")

    async def _take(self, n: int, got: Acquired) -> None:
        started = time.monotonic()
        name = got.name
        monitors = set(self.by_shard.get(n, ()))
        shard = self.shards[n] = _Shard(n, got.epoch, monitors)
        self.taken_at[name] = started
        self.writer.fences[name] = (self.engine_id, got.epoch)
        now = datetime.now(UTC)
        saved = await engine_state.load(
            self.store.engine, sorted(monitors), since=now - _RESUME_HISTORY
        )
        self.engine.adopt(saved, monitors, now)
        prefix = self.config.bus.topic_prefix
        consumer = MqttIngest(
            self.config,
            self.engine,
            self.writer,
            client_id=f"{self.config.bus.client_id}-shard-{n}",
            topics=[f"{prefix}/results/+/shard/{n}"],
            shared_writer=True,
            publish_states=False,
        )
        shard.consumer = consumer
        shard.task = asyncio.create_task(consumer.run(), name=f"shard-{n}")
        log.info(
            "took shard %d (epoch %d, %d monitors)%s",
            n,
            got.epoch,
            len(monitors),
            f" from {got.previous_owner} ({got.reason})" if got.reason else "",
        )
        if got.reason is not None:
            self.metrics.handovers.labels(got.reason).inc()
        if got.free_since is not None and got.reason is not None:
            idle = max(0.0, (got.now - got.free_since).total_seconds())
            self._spawn(self._time_failover(consumer, idle, started), "failover")

    async def _time_failover(self, consumer: MqttIngest, idle: float, started: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                await consumer.subscribed.wait()
                seconds = idle + time.monotonic() - started
                self.metrics.failover.observe(seconds)
                log.info("shard consumed %.2fs after its previous owner let go", seconds)

    async def _give_up(self, numbers: Sequence[int], why: str) -> None:
        """Hand shards over: commit and acknowledge what was read, then release.

        All together: stop reading, one flush, acknowledge, disconnect (the broker
        keeps each session), forget their monitors, release the leases.
        """
        shards = [self.shards[n] for n in numbers if n in self.shards]
        if not shards:
            return
        for shard in shards:
            if shard.consumer is not None:
                shard.consumer.hold()
            self.engine.save_monitors(shard.monitors)
        try:
            async with asyncio.timeout(_HANDOVER_GRACE):
                await self.writer.flush()
        except Exception:
            log.exception("flushing before handing shards over failed")
        for shard in shards:
            if shard.consumer is not None:
                shard.consumer.flush_acks()
        await asyncio.gather(
            *(cancel_quietly(s.task) for s in shards if s.task is not None),
            return_exceptions=True,
        )
        for shard in shards:
            self._forget(shard.number)
        released = await asyncio.gather(
            *(self.leases.release(shard_lease(s.number), s.epoch, why) for s in shards),
            return_exceptions=True,
        )
        log.info(
            "handed over %d shards (%s): %s",
            sum(r is True for r in released),
            why,
            ", ".join(str(s.number) for s in shards),
        )

    def _lose(self, n: int, why: str) -> None:
        """Drop shard ``n`` at once, acknowledging nothing more (its new owner gets it)."""
        shard = self.shards.get(n)
        if shard is None:
            return
        log.error("lost shard %d (epoch %d): %s; stopped consuming it", n, shard.epoch, why)
        if shard.consumer is not None:
            shard.consumer.hold()
        if shard.task is not None:
            shard.task.cancel()
        self._forget(n)

    def _forget(self, n: int) -> None:
        shard = self.shards.pop(n, None)
        if shard is None:
            return  # lost meanwhile
        if shard.consumer is not None:
            self.ingests.retire(shard.consumer)
        name = shard_lease(n)
        self.engine.drop(shard.monitors)
        self.writer.forget(shard.monitors)
        self.writer.fences.pop(name, None)
        self.taken_at.pop(name, None)

    def _fenced(self, names: frozenset[str]) -> None:
        self.metrics.fence_refusals.inc()
        for n in [n for n in self.shards if shard_lease(n) in names]:
            self._lose(n, "the store refused a write by its epoch")

    def _settled(self, results: Sequence[Result]) -> None:
        by_shard: dict[int, list[Result]] = {}
        shard_of_ = self._shard_of
        for r in results:
            n = shard_of_.get(r.monitor_id)
            if n is not None:
                by_shard.setdefault(n, []).append(r)
        for n, rs in by_shard.items():
            shard = self.shards.get(n)
            if shard is not None and shard.consumer is not None:
                shard.consumer.settled(rs)

    # -- leading -----------------------------------------------------------------------

    def _lead(self, got: Acquired) -> None:
        self.leader_epoch = got.epoch
        self.taken_at[LEADER] = time.monotonic()
        log.info(
            "leading the cluster (epoch %d)%s",
            got.epoch,
            f", after {got.previous_owner} ({got.reason})" if got.reason else "",
        )
        if self.lead is not None:
            self._spawn(self.lead(), "lead")

    def _spawn(self, coro: Coroutine[None, None, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _lose_leadership(self) -> None:
        self.leader_epoch = None
        self.taken_at.pop(LEADER, None)
        if self._stopping:
            log.error("lost the leader lease while stopping")
            return
        log.error("lost the leader lease: stopping (a supervisor starts this engine again)")
        self.on_lost_leadership()

    # -- the others' shards ------------------------------------------------------------

    async def _mirror_forever(self) -> None:
        while True:
            try:
                await self.mirror_once()
            except Exception:
                log.exception("reading the other shards' states failed; will try again")
            await asyncio.sleep(_MIRROR_EVERY)

    async def mirror_once(self) -> None:
        """Show the store's open intervals of the monitors this engine does not hold."""
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(_OPEN)).all()
        engine = self.engine
        owned = engine.owned or set()
        open_now: dict[str, tuple[State, datetime]] = {}
        for monitor_id, state, start_at in rows:
            start = (
                datetime.fromtimestamp(start_at / 1e6, UTC)
                if isinstance(start_at, int)
                else start_at
            )
            previous = open_now.get(monitor_id)
            if previous is None or previous[1] < start:
                open_now[monitor_id] = (State(state), start)
        now = datetime.now(UTC)
        for monitor_id in engine.policies:
            if monitor_id in owned:
                continue
            state, since = open_now.get(monitor_id, (State.UNKNOWN, now))
            if state is State.UNKNOWN and engine.state(monitor_id) is State.UNKNOWN:
                continue
            engine.mirror(monitor_id, state, since)

    # -- stopping ----------------------------------------------------------------------

    async def hand_over(self) -> None:
        """SIGTERM: give every shard up at once (the others take them), keep leading."""
        async with self._lock:
            self._stopping = True
            await self._give_up(list(self.shards), "released")
            with contextlib.suppress(Exception):
                await self.leases.leave()

    async def resign(self) -> None:
        """Release the leader lease (after the leader's work stopped and was written)."""
        if self.leader_epoch is None:
            return
        epoch, self.leader_epoch = self.leader_epoch, None
        with contextlib.suppress(Exception):
            await self.leases.release(LEADER, epoch, "released")


def _sparingly(what: str, failures: int, exc: Exception) -> None:
    # The first failure with its traceback, then one line every 20.
    if failures == 1 or failures % 20 == 0:
        log.error(
            "%s failed (%d in a row): %s: %s; will try again",
            what,
            failures,
            type(exc).__name__,
            exc,
            exc_info=failures == 1,
        )


def _stop_process() -> None:
    # The serving loop stops on SIGTERM as at any graceful stop.
    os.kill(os.getpid(), signal.SIGTERM)
