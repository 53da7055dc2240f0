"""Building the status site from the store and publishing it: in memory and to a folder.

The folder is swapped in atomically. ``OUT`` is a symbolic link to the current build,
``OUT.builds/<stamp>``: a build is written in full to a new folder beside the others,
then a new link is made under a temporary name and renamed over ``OUT`` (``rename(2)``
replaces it in one step), so a web server or a sync to a CDN never sees half a site.
The previous build is kept (a reader that resolved the old link a moment ago can still
open its files); older ones are removed.

The running service serves the same bytes from memory (``SitePublisher.current``), and
rebuilds on every state change and every ``[statuspage] refresh`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sla_engine.incidents import Incident, MaintenanceWindow
from sla_engine.time.intervals import Interval
from slamon.config import Config
from slamon.engine import Engine
from slamon.incidents import load_incidents
from slamon.maintenance import load_maintenance
from slamon.store.sql import Store
from slamon.views import SnapshotInputs, read_snapshot_inputs, snapshot_from
from statuspage.render import PageRenderer

log = logging.getLogger("slamon.statussite")
KEEP_BUILDS = 2
STALE_STAGING = 600.0  # seconds
RETRY_AFTER = 5.0  # seconds between attempts while builds fail
MAX_DEFER = 60.0  # longest a rebuild waits for ingestion to catch up
INCIDENT_HISTORY = timedelta(days=365)
MAINTENANCE_PAST = timedelta(days=90)
MAINTENANCE_AHEAD = timedelta(days=30)


class SiteFolderError(Exception):
    """The output folder cannot be used (it is a real folder slamon did not make)."""


def write_site(
    files: Mapping[str, bytes],
    out: str | Path,
    now: datetime | None = None,
    *,
    prune: bool = True,
) -> Path:
    """Write ``files`` to a new build folder and point the link ``out`` at it atomically.

    Returns the build folder. ``out`` may not exist yet, may be a link a previous build
    made, or an empty folder; a non-empty real folder is refused, never deleted. With
    ``prune``, builds older than the previous one are removed after the swap.
    """
    out = Path(out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_symlink():
        if not out.is_dir() or any(out.iterdir()):
            raise SiteFolderError(
                f"{out} exists and is not a link to a slamon build; remove it or choose "
                "another --out"
            )
        out.rmdir()
    builds = parent / f"{out.name}.builds"
    builds.mkdir(exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%f")
    build = builds / f"{stamp}-{os.getpid()}"
    staging = builds / f".tmp-{build.name}"
    try:
        for path, data in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        staging.rename(build)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link = parent / f".{out.name}.tmp-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(builds.name) / build.name, target_is_directory=True)
    link.replace(out)
    if prune:
        prune_builds(out)
    return build


def prune_builds(out: str | Path) -> None:
    """Remove the builds of ``out`` but the current and the previous one, and leftovers."""
    out = Path(out)
    builds = out.parent / f"{out.name}.builds"
    current = Path(os.readlink(out)).name if out.is_symlink() else ""
    done = sorted(p for p in builds.iterdir() if not p.name.startswith(".tmp-"))
    for old in done[:-KEEP_BUILDS]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    # A staging folder is another writer's work in progress, unless it is old: then it
    # was left by a crash.
    for stale in builds.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > STALE_STAGING:
                shutil.rmtree(stale, ignore_errors=True)


async def render_from_store(
    config: Config,
    store: Store,
    renderer: PageRenderer,
    now: datetime,
    *,
    engine: Engine | None = None,
    incidents: Sequence[Incident] | None = None,
    maintenance: Sequence[MaintenanceWindow] | None = None,
    worker: RenderWorker | None = None,
) -> dict[str, bytes]:
    """Read the store and render every file of the site, off the event loop.

    The rendering runs in ``worker``'s process if given, else in a thread.
    Incidents of the last year and maintenance windows from 90 days back to 30 days
    ahead are loaded from the store and the config unless they are given.
    """
    if incidents is None:
        incidents = await load_incidents(store, Interval(now - INCIDENT_HISTORY, now))
    if maintenance is None:
        window = Interval(now - MAINTENANCE_PAST, now + MAINTENANCE_AHEAD)
        maintenance = await load_maintenance(config, store, window)
    inputs = await read_snapshot_inputs(
        config, engine, store, now, incidents=incidents, maintenance=maintenance
    )
    if worker is not None:
        files = await worker.build(inputs)
        if files is not None:
            return files
    snapshot = await asyncio.to_thread(snapshot_from, inputs)
    return await asyncio.to_thread(renderer.render_site, snapshot)


WORKER_FROM_COMPONENTS = 200  # render_worker = "auto": a process from this many on

_worker_renderer: PageRenderer | None = None


def _lower_priority() -> None:
    # The render worker yields the CPU to the engine (nice 10); a status page a few
    # seconds late is better than results late.
    with contextlib.suppress(OSError):
        os.nice(10)


def _build_files(inputs: SnapshotInputs) -> dict[str, bytes]:
    """Compute and render the whole site from its inputs (in the render worker)."""
    global _worker_renderer  # noqa: PLW0603  # one per worker process, kept between builds
    if _worker_renderer is None:
        _worker_renderer = PageRenderer()
    return _worker_renderer.render_site(snapshot_from(inputs))


class RenderWorker:
    """A separate, lower-priority process that computes and renders the site.

    Rendering a site of a thousand components costs one or two seconds of CPU; in
    the engine's process that is CPU taken from ingestion (and the GIL held from its
    event loop). If the process dies, the builds go on in the service's own process.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_lower_priority,
        )

    @staticmethod
    def wanted(config: Config) -> bool:
        """Whether ``config`` asks for a render process (``auto``: a large site)."""
        mode = config.statuspage.render_worker
        if mode == "auto":
            return len(config.effective_components()) >= WORKER_FROM_COMPONENTS
        return mode == "process"

    async def build(self, inputs: SnapshotInputs) -> dict[str, bytes] | None:
        """The site's files, built in the worker process; None once it has died."""
        if self._pool is None:
            return None
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, _build_files, inputs
            )
        except BrokenProcessPool:
            log.error("the status page's render process died; rendering in-process now")
            self._pool = None
            return None

    def close(self) -> None:
        """Stop the worker process (a build in progress is abandoned)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass
class Site:
    """One build of the site, as served."""

    files: dict[str, bytes]
    built_at: float


class SitePublisher:
    """Keeps the current build in memory and, if configured, in the output folder."""

    def __init__(
        self,
        config: Config,
        store: Store,
        engine: Engine,
        dirty: asyncio.Event,
        renderer: PageRenderer | None = None,
        *,
        busy: Callable[[], bool] | None = None,
        worker: RenderWorker | None = None,
    ) -> None:
        self.config = config
        self.busy = busy
        self.worker = worker
        self.deferred_seconds = 0.0
        self.store = store
        self.engine = engine
        self.dirty = dirty
        self.renderer = renderer or PageRenderer()
        self.site: Site | None = None
        self.builds = 0
        self.failures = 0
        self.last_seconds = 0.0
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    def stale(self) -> bool:
        """True when a state changed since the last build, or it is older than refresh.

        After a failed build the previous one is served, and no new build is tried for
        ``RETRY_AFTER`` seconds.
        """
        now = time.monotonic()
        if self.site is None:
            return True
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER:
            return False
        return self.dirty.is_set() or now - self.site.built_at > self.config.statuspage.refresh

    async def current(self) -> Site:
        """The current build, rebuilt first if stale; concurrent callers share a rebuild."""
        async with self._lock:
            if self.stale():
                # A build is never left half-way when its caller is cancelled (a request
                # that went away, the service stopping): its store reads would finish
                # after the connection, or the event loop, is gone.
                build = asyncio.ensure_future(self._build())
                try:
                    await asyncio.shield(build)
                except asyncio.CancelledError:
                    with contextlib.suppress(Exception):
                        await build
                    raise
                except Exception:
                    self.failures += 1
                    self._failed_at = time.monotonic()
                    if self.site is None:
                        raise
                    log.exception("building the status site failed; serving the previous build")
                else:
                    self._failed_at = None
            assert self.site is not None
            return self.site

    async def _build(self) -> None:
        self.dirty.clear()
        started = time.perf_counter()
        try:
            files = await render_from_store(
                self.config,
                self.store,
                self.renderer,
                datetime.now(UTC),
                engine=self.engine,
                worker=self.worker,
            )
        except Exception:
            self.dirty.set()  # the next request or tick tries again
            raise
        self.site = Site(files, time.monotonic())
        output = self.config.statuspage.output
        if output:
            await asyncio.to_thread(write_site, files, output)
        self.builds += 1
        self.last_seconds = time.perf_counter() - started

    async def run(self, debounce: float = 0.5, duty: float = 0.1) -> None:
        """Rebuild on every state change (after ``debounce`` s) and every refresh.

        Rebuilds take at most ``duty`` of the time: after a build that took ``t``
        seconds the next one (for a change or a refresh) waits at least
        ``t * (1 - duty) / duty``. A site of a
        thousand components under a storm of state changes would otherwise rebuild
        back to back and starve ingestion (seen in bench/ingest.py at 10,000 results/s).
        """
        while True:
            refresh = self.config.statuspage.refresh
            try:
                await self.current()
            except Exception:
                log.exception("building the status site failed; will try again")
                await asyncio.sleep(RETRY_AFTER)
                continue
            built = time.monotonic()
            await asyncio.sleep(max(debounce, self.last_seconds * (1 - duty) / duty))
            left = refresh - (time.monotonic() - built)
            if left > 0 and not self.dirty.is_set():
                try:
                    async with asyncio.timeout(left):
                        await self.dirty.wait()
                    await asyncio.sleep(debounce)
                except TimeoutError:
                    pass
            await self._while_busy()

    async def _while_busy(self) -> None:
        """Wait (at most ``MAX_DEFER`` s) while ingestion is behind.

        A rebuild costs seconds of CPU for a large site; while results arrive late
        (the engine is catching up after a start or an outage) it would only make
        them later. The page is at most ``MAX_DEFER`` s staler than it would be.
        """
        if self.busy is None or not self.busy():
            return
        started = time.monotonic()
        while self.busy() and time.monotonic() - started < MAX_DEFER:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        self.deferred_seconds += time.monotonic() - started
