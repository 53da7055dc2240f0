"""The render worker: a lower-priority process that computes and renders the site."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from slamon.site.views import SnapshotInputs, snapshot_from
from statuspage.render import PageRenderer

if TYPE_CHECKING:
    from slamon.config.model import Config

log = logging.getLogger("slamon.statussite")

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
