"""Publishing the status site from the running service, rebuilt as things change.

The running service serves the site's bytes from memory (``SitePublisher.current``), and
rebuilds on every state change and every ``[statuspage] refresh`` seconds; a rebuild
waits while ingestion is behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slamon.site.build import render_from_store
from slamon.site.folder import write_site
from slamon.site.views import ViewCache
from slamon.site.worker import FolderFiles
from statuspage.render import PageRenderer

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.engine import Engine
    from slamon.site.worker import RenderWorker
    from slamon.store.sql import Store

log = logging.getLogger("slamon.statussite")


RETRY_AFTER = 5.0  # seconds between attempts while builds fail


MAX_DEFER = 60.0  # longest a rebuild waits for ingestion to catch up


@dataclass
class Site:
    """One build of the site, as served."""

    files: Mapping[str, bytes]
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
        self.views = ViewCache()  # builds run one at a time (the lock below)
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
                views=self.views,
            )
        except Exception:
            self.dirty.set()  # the next request or tick tries again
            raise
        self.site = Site(files, time.monotonic())
        output = self.config.statuspage.output
        written = isinstance(files, FolderFiles) and files.writes_to(output)
        if output and not written:
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
