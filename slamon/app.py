"""Wiring: the only module that knows every room; builds the runtime and the web app.

``build_runtime`` creates the objects a config describes, ``start``/``stop`` run their
tasks, and ``create_app`` puts the routes of every web module and that lifecycle into
one aiohttp application.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

from probes.scheduler import Scheduler
from sla_engine.time.states import State
from slamon.alerting.operations import Operations
from slamon.alerting.subscribers import Subscriptions
from slamon.bus.ingest import MqttIngest
from slamon.bus.inprocess import InProcessBus
from slamon.cluster.member import Member
from slamon.discovery.watch import DiscoveryWatcher
from slamon.engine import Engine
from slamon.events import StateChange
from slamon.metrics.config import ConfigCollector
from slamon.metrics.live import LiveCollector, SchedulerMetrics
from slamon.metrics.locations import LocationCollector
from slamon.runtime import Runtime
from slamon.site.publisher import SitePublisher
from slamon.site.worker import RenderWorker
from slamon.store import engine_state, migrate
from slamon.store.sql import Store
from slamon.store.writer import Writer
from slamon.web.admin import add_admin_routes
from slamon.web.bodies import limit_bodies
from slamon.web.customers import add_customer_routes
from slamon.web.errors import return_http_errors
from slamon.web.headers import add_security_headers
from slamon.web.keys import RUNTIME
from slamon.web.public import add_public_routes
from slamon.web.push import PushService, add_push_routes
from slamon.web.reload import add_reload_route
from slamon.web.reports import add_report_routes
from slamon.web.subscriptions import add_subscription_routes

if TYPE_CHECKING:
    from probes.result import Result
    from slamon.config.model import Config
    from slamon.reload import Reloader

log = logging.getLogger("slamon")

# Each location's confirmation is checkpointed this often (a restart replays the
# results stored since); a restart re-derives at most this much history.
_CHECKPOINT_EVERY = 5.0
# Locations checkpointed (monitors compacted) between two turns of the event loop.
_SLICE = 500
# What no late result can change is forgotten every this many checkpoints (a minute):
# it only grows with state changes, slowly.
_COMPACT_EVERY_ROUNDS = 12
_RESUME_HISTORY = timedelta(days=1)
_TICK_PATIENCE = 60


def build_runtime(config: Config, store: Store | None = None) -> Runtime:
    """Create (but do not start) everything ``config`` describes."""
    store = store or Store.from_url(config.store.url)
    writer = Writer(
        store,
        batch_size=config.store.batch_size,
        flush_interval=config.store.flush_interval,
        max_pending=config.store.max_pending,
    )
    engine = Engine(
        {m.id: config.policy_for(m) for m in config.monitors},
        writer,
        locations={m.id: config.locations_for(m) for m in config.monitors},
        quorum={m.id: config.quorum_for(m) for m in config.monitors},
        intervals={m.id: m.covered_seconds for m in config.monitors},
        silent_after=config.bus.silent_after,
    )
    distributed = config.bus.kind == "mqtt"
    clustered = config.cluster.enabled
    ingest: MqttIngest | None = None
    if clustered:
        # The shards' consumers are the member's; this one only publishes the states
        # and events of this engine's monitors, under a client id of its own.
        ingest = MqttIngest(
            config,
            engine,
            writer,
            client_id=f"{config.bus.client_id}-{config.cluster.engine_id}",
            topics=[],
            shared_writer=True,
        )
    elif distributed:
        ingest = MqttIngest(config, engine, writer)
    bus = InProcessBus()
    registry = CollectorRegistry(auto_describe=True)
    member = (
        Member(config, store, engine, writer, registry, publisher=ingest) if clustered else None
    )
    sched_metrics = SchedulerMetrics(registry)
    scheduler = Scheduler(
        # With MQTT, agents probe; this process only ingests (and takes push heartbeats).
        [] if distributed else config.checks(),
        location=config.scheduler.location,
        sink=bus.publish,
        concurrency=config.scheduler.concurrency,
        on_lateness=sched_metrics.lateness.observe,
        on_skip=lambda _check: sched_metrics.skipped.inc(),
    )
    runtime = Runtime(
        config,
        store,
        writer,
        engine,
        bus,
        scheduler,
        registry,
        sched_metrics,
        ingest=ingest,
        member=member,
    )
    # Before the LiveCollector: its fast text rendering expects to be registered last,
    # right after the LocationCollector, whose per-monitor families it renders (in a
    # thread, off the event loop: 40,000 samples at 10,000 monitors).
    registry.register(ConfigCollector(runtime))
    locations = LocationCollector(engine, member.ingests if member is not None else ingest)
    registry.register(locations)
    live = LiveCollector(
        engine, writer, bus, {m.id: m.display_name for m in config.monitors}, before=[locations]
    )
    locations.deferred = live.rendering_around
    registry.register(live)
    runtime.live = live
    runtime.push = PushService(
        config.push_monitors(), location=config.scheduler.location, publish=bus.publish
    )
    engine.listeners.append(lambda _change: runtime.page_dirty.set())
    runtime.ops = Operations(config, engine, store, registry)
    runtime.site = SitePublisher(
        config,
        store,
        engine,
        runtime.page_dirty,
        runtime.renderer,
        # Results arriving half a second late: the engine is catching up.
        busy=(lambda: ingest.behind() > 0.5) if ingest is not None else None,
        worker=RenderWorker(config.statuspage.output) if RenderWorker.wanted(config) else None,
    )
    if runtime.ops is not None:  # an incident opened, updated or resolved: rebuild the page
        runtime.ops.incidents.listeners.append(lambda _event: runtime.page_dirty.set())
    if config.subscriptions.enabled:
        runtime.subscriptions = _subscriptions(runtime)
    if ingest is not None:
        runtime.ops.incidents.listeners.append(ingest.incident_changed)
        runtime.ops.breach_listeners.append(
            lambda b: ingest.publish_event("breach", b.id, b.event())
        )
    if member is not None:
        _lead_only(runtime, member)
    return runtime


def _lead_only(runtime: Runtime, member: Member) -> None:
    """In a cluster, incidents and alerts follow state changes only on the leader."""
    ops = runtime.ops
    assert ops is not None
    gated = {ops.incidents.on_state_change, ops.state_alerts.on_state_change}
    listeners = runtime.engine.listeners
    for i, listener in enumerate(listeners):
        if listener in gated:
            listeners[i] = _when_leading(member, listener)


def _when_leading(
    member: Member, listener: Callable[[StateChange], None]
) -> Callable[[StateChange], None]:
    def gated(change: StateChange) -> None:
        if member.leading:
            listener(change)

    return gated


def _subscriptions(runtime: Runtime) -> Subscriptions:
    """Subscriber deliveries on the notification hub, told from the site's documents."""
    assert runtime.ops is not None
    assert runtime.site is not None
    site = runtime.site

    async def documents() -> Mapping[str, bytes]:
        return (await site.current()).files

    subscriptions = Subscriptions(runtime.config, runtime.store, runtime.ops.hub, documents)
    runtime.ops.incidents.listeners.append(lambda _event: subscriptions.poke())
    return subscriptions


def tune_gc() -> None:
    """Keep the cyclic garbage collector from pausing the event loop for long.

    Measured with bench/probe_throughput.py at 2,000 checks/s: with CPython's default
    thresholds a full collection ran about once a second and walked every object
    imported or configured at start (SQLAlchemy, pydantic, aiohttp), pausing the loop
    for up to ~300 ms, which showed up as scheduler lateness. Freezing what exists
    once the runtime is up takes those objects out of every later collection, and
    larger thresholds make collections rarer; almost all garbage here is freed by
    reference counting anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    # /metrics renders in a thread; with the default 5 ms GIL switch interval the event
    # loop waited up to 5 ms for the GIL at every wake-up while a large scrape rendered.
    sys.setswitchinterval(0.0005)


async def _prune_forever(runtime: Runtime) -> None:
    retention = runtime.config.store.retention
    while True:
        try:
            cutoff = datetime.now(UTC).timestamp() - retention
            n = await runtime.store.prune_results(datetime.fromtimestamp(cutoff, UTC))
            if n:
                log.info("pruned %d raw results older than the %.0fs retention", n, retention)
            packed = await runtime.store.compact_rollups(datetime.fromtimestamp(cutoff, UTC))
            if packed:
                log.info("packed %d hourly rollups into one row per monitor and day", packed)
        except Exception:
            log.exception("pruning raw results failed; will try again")
        await asyncio.sleep(600)


async def _tick_forever(engine: Engine, busy: Callable[[], bool] | None) -> None:
    waited = 0
    while True:
        await asyncio.sleep(1.0)
        # Silence is judged by arrival: while ingestion is behind, results that cover
        # the time may still be on their way. Wait for it (a minute at most); what it
        # declares is provisional anyway, and undone by the results when they come.
        if busy is not None and busy() and waited < _TICK_PATIENCE:
            waited += 1
            continue
        waited = 0
        try:
            engine.tick()
        except Exception:
            log.exception("checking for silent locations failed; will try again")


async def _checkpoint_forever(engine: Engine) -> None:
    # In slices, letting the event loop run between them: at 10,000 monitors one pass
    # over every location held the loop for a few hundred milliseconds, which checks
    # due meanwhile waited out (bench/probe_throughput.py's lateness).
    rounds = 0
    while True:
        await asyncio.sleep(_CHECKPOINT_EVERY)
        rounds += 1
        try:
            for _ in range(engine.dirty // _SLICE + 1):
                engine.save(limit=_SLICE)
                await asyncio.sleep(0)
            if rounds % _COMPACT_EVERY_ROUNDS == 0:
                monitors = sorted(engine.policies)
                for i in range(0, len(monitors), _SLICE):
                    engine.compact(monitors[i : i + _SLICE])
                    await asyncio.sleep(0)
        except Exception:
            log.exception("checkpointing the engine failed; will try again")


async def resume(runtime: Runtime) -> None:
    """Give the engine back what it knew before a stop or a crash (from the store)."""
    engine = runtime.engine
    started = datetime.now(UTC)
    monitors = sorted(engine.policies)
    saved = await engine_state.load(runtime.store.engine, monitors, since=started - _RESUME_HISTORY)
    engine.restore(saved, started)
    # Intervals left open by monitors no longer configured end at their last result.
    closed = await runtime.store.recover(resumed=set(monitors))
    if closed:
        log.warning("closed %d state intervals of monitors no longer configured", len(closed))
    if saved.checkpoints or saved.evidence:
        log.info(
            "resumed %d locations from their checkpoints and %d results stored after them in %.1fs",
            len(saved.checkpoints),
            len(saved.evidence),
            (datetime.now(UTC) - started).total_seconds(),
        )


async def start(
    runtime: Runtime, watcher: DiscoveryWatcher | None = None
) -> list[asyncio.Task[None]]:
    """Migrate, resume; start the writer, consumer, scheduler, pruning, site rebuilds."""
    await migrate.upgrade(runtime.store.engine)
    if runtime.member is not None:
        return _start_member(runtime, runtime.member, watcher)
    await resume(runtime)
    ops_tasks = await runtime.ops.start() if runtime.ops is not None else []
    tasks = [
        *ops_tasks,
        asyncio.create_task(runtime.writer.run(), name="writer"),
        asyncio.create_task(runtime.bus.consume(runtime.engine.ingest), name="ingest"),
        asyncio.create_task(runtime.scheduler.run(), name="scheduler"),
        asyncio.create_task(_prune_forever(runtime), name="prune"),
        asyncio.create_task(_checkpoint_forever(runtime.engine), name="checkpoint"),
    ]
    if runtime.site is not None:
        if not runtime.config.statuspage.url:
            log.warning(
                "[statuspage] url is not set: the Statuspage JSON API (api/v2/) is not "
                "served, since its documents give the page's absolute address"
            )
        tasks.append(asyncio.create_task(runtime.site.run(), name="statuspage"))
    if runtime.subscriptions is not None:
        tasks.append(asyncio.create_task(runtime.subscriptions.run(), name="subscriptions"))
    if runtime.push is not None:  # also without push monitors: a reload may add some
        runtime.push.log_generated_tokens()
        tasks.append(asyncio.create_task(runtime.push.watch(), name="push"))
    if watcher is not None:
        tasks.append(asyncio.create_task(watcher.run(), name="discovery"))
    if runtime.ingest is not None:
        # Silence is a remote agent's failure mode; in one process the probes run as
        # long as the engine does (a gap in their results is judged from their times).
        ingest = runtime.ingest
        tasks.append(
            asyncio.create_task(
                _tick_forever(runtime.engine, lambda: ingest.behind() > 1.0), name="tick"
            )
        )
        tasks.append(asyncio.create_task(ingest.run(), name="mqtt"))
    return tasks


def _start_member(
    runtime: Runtime, member: Member, watcher: DiscoveryWatcher | None
) -> list[asyncio.Task[None]]:
    """A cluster member: shards come and go by lease; the leader's work waits to lead.

    Nothing is resumed here: each shard's monitors are restored when it is taken.
    """
    engine, forward = runtime.engine, runtime.ingest

    def take(result: Result) -> None:
        # A push heartbeat may reach any engine: the shard's owner ingests it.
        if engine.owned is not None and result.monitor_id in engine.owned:
            engine.ingest(result)
        elif forward is not None and result.monitor_id in engine.policies:
            forward.forward(result)

    tasks = [
        asyncio.create_task(runtime.writer.run(), name="writer"),
        asyncio.create_task(runtime.bus.consume(take), name="ingest"),
        asyncio.create_task(runtime.scheduler.run(), name="scheduler"),
        asyncio.create_task(_checkpoint_forever(engine), name="checkpoint"),
        asyncio.create_task(_tick_forever(engine, lambda: member.behind() > 1.0), name="tick"),
    ]
    if runtime.ingest is not None:
        tasks.append(asyncio.create_task(runtime.ingest.run(), name="mqtt"))
    if runtime.push is not None:
        tasks.append(asyncio.create_task(runtime.push.watch(), name="push"))
    if watcher is not None:
        tasks.append(asyncio.create_task(watcher.run(), name="discovery"))
    if runtime.ops is not None:  # each engine puts its own shards' monitors in maintenance
        tasks.append(asyncio.create_task(runtime.ops.maintenance.run(), name="shard-maintenance"))

    async def lead() -> None:
        try:
            await _lead(runtime, tasks)
        except Exception:
            log.exception("starting the leader's work failed; stopping this engine")
            member.on_lost_leadership()

    member.lead = lead
    tasks.append(asyncio.create_task(member.run(), name="cluster"))
    return tasks


async def _lead(runtime: Runtime, tasks: list[asyncio.Task[None]]) -> None:
    """Start what only the leader does; its tasks join ``tasks`` (stopped by ``stop``).

    Alert state, open incidents and the notification outbox come from the store
    (``Operations.start``); then what the current states say that they do not is told,
    once: a monitor down with no active alert fires, an active alert of a monitor now
    up resolves, one already active is not told again.
    """
    engine = runtime.engine
    if runtime.ops is not None:
        tasks.extend(await runtime.ops.start(maintenance=False))
        runtime.ops_started = True
        now = datetime.now(UTC)
        runtime.ops.incidents.reconfigure(runtime.config, now)
        for monitor_id in sorted(engine.policies):
            state = engine.state(monitor_id)
            since = engine.state_since.get(monitor_id, now)
            change = StateChange(monitor_id, State.UNKNOWN, state, since, None)
            runtime.ops.state_alerts.on_state_change(change)
    # Intervals left open by monitors no longer configured end at their last result.
    closed = await runtime.store.recover(resumed=set(engine.policies))
    if closed:
        log.warning("closed %d state intervals of monitors no longer configured", len(closed))
    tasks.append(asyncio.create_task(_prune_forever(runtime), name="prune"))
    if runtime.site is not None:
        tasks.append(asyncio.create_task(runtime.site.run(), name="statuspage"))
    if runtime.subscriptions is not None:
        tasks.append(asyncio.create_task(runtime.subscriptions.run(), name="subscriptions"))


_STOP_WARN_AFTER = 10.0

# A graceful stop (SIGTERM) ends within 10 s: checks in flight get this long to finish,
# queued incident work and notifications this long (what is left of notifications
# waits in the store's outbox for the next start), and the writer the rest.
STOP_CHECKS_GRACE = 3.0
STOP_OPERATIONS_GRACE = 2.0


def _awaiting(task: asyncio.Task[None]) -> list[str]:
    """Where a suspended task is, outermost first, following what each coroutine awaits."""
    out: list[str] = []
    obj: object = task.get_coro()
    for _ in range(50):
        frame = getattr(obj, "cr_frame", None) or getattr(obj, "ag_frame", None)
        if frame is None:
            if obj is not None:
                out.append(f"awaiting {obj!r:.200}")
            break
        out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        obj = getattr(obj, "cr_await", None) or getattr(obj, "ag_await", None)
    return out


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it; if it has not ended after 10 s, say where it is.

    A task stuck at shutdown is a bug; the log names it and its stack (and again every
    10 s) so that it can be found, rather than a process that silently does not exit.
    """
    task.cancel()
    while True:
        done, _ = await asyncio.wait({task}, timeout=_STOP_WARN_AFTER)
        if done:
            break
        frames = "".join(f"\n  {where}" for where in _awaiting(task))
        log.warning(
            "task %s has not stopped %.0fs after cancel; it is at:%s",
            task.get_name(),
            _STOP_WARN_AFTER,
            frames or " (no stack)",
        )
    with contextlib.suppress(asyncio.CancelledError):
        task.result()


async def stop(
    runtime: Runtime,
    tasks: list[asyncio.Task[None]],
    watcher: DiscoveryWatcher | None = None,
) -> None:
    """Stop probing, ingest what is queued, close open states, write everything.

    Checks in flight get ``STOP_CHECKS_GRACE`` seconds to finish and be ingested.
    """
    member = runtime.member
    if member is not None:
        # At once: the other engines take the shards while this one stops.
        await member.hand_over()
    by_name = {t.get_name(): t for t in tasks}
    if watcher is not None:
        watcher.stop()
    runtime.scheduler.stop_grace = STOP_CHECKS_GRACE
    # Unacknowledged MQTT messages come again at the next start; the store dedups them.
    for name in (
        "discovery",
        "mqtt",
        "scheduler",
        "push",
        "subscriptions",
        "statuspage",
        "prune",
        "tick",
        "checkpoint",
        "shard-maintenance",
    ):
        task = by_name.get(name)
        if task is not None:
            await _cancel_and_wait(task)
    ingest = by_name.get("ingest")
    if ingest is not None:
        await _cancel_and_wait(ingest)
    await runtime.bus.drain(runtime.engine.ingest)
    if runtime.ops is not None and (member is None or runtime.ops_started):
        await runtime.ops.stop(STOP_OPERATIONS_GRACE)
    if member is not None:
        cluster = by_name.get("cluster")
        if cluster is not None:
            await _cancel_and_wait(cluster)
        await member.resign()
    runtime.engine.stop(datetime.now(UTC))
    writer = by_name.get("writer")
    if writer is not None:
        await _cancel_and_wait(writer)  # its finally-block writes what is left
    if runtime.site is not None and runtime.site.worker is not None:
        runtime.site.worker.close()
    await runtime.store.close()


def add_routes(app: web.Application, runtime: Runtime, reloader: Reloader | None = None) -> None:
    """Every route of every web module on ``app``, serving ``runtime``."""
    app[RUNTIME] = runtime
    add_public_routes(app)
    add_reload_route(app, reloader)
    add_push_routes(app, runtime.push)
    if runtime.ops is not None:
        add_admin_routes(app, runtime.ops)
    add_report_routes(app, RUNTIME)
    add_subscription_routes(app)
    add_customer_routes(app)


def create_app(runtime: Runtime, reloader: Reloader | None = None) -> web.Application:
    """The aiohttp application: every route, and the runtime's tasks in its lifecycle.

    With a ``reloader`` (the config came from a file), ``POST /-/reload`` reloads it
    and discovery files are watched.
    """
    app = web.Application(
        middlewares=[return_http_errors, limit_bodies],
        client_max_size=runtime.config.server.max_body_bytes,
    )
    app.on_response_prepare.append(add_security_headers)
    add_routes(app, runtime, reloader)
    watcher = (
        DiscoveryWatcher(
            lambda: reloader.source.catalog.directories(runtime.config),
            reloader.rediscover,
            lambda: min((d.refresh for d in runtime.config.discovery), default=300.0),
            reloader.sources_changed,
        )
        if reloader is not None
        else None
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        tasks = await start(app[RUNTIME], watcher)
        yield
        await stop(app[RUNTIME], tasks, watcher)

    app.cleanup_ctx.append(lifecycle)
    return app
