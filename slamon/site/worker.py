"""The render worker: a lower-priority process that computes, renders and writes the site.

The worker writes the files itself (to the configured output folder, or a private one)
and hands back only their names: the engine never holds a copy of every page (at
10,000 components that copy, pickled across and then kept, was hundreds of MB). A page
whose bytes did not change since the last build is hard-linked, not written again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

from slamon.site.folder import SiteWriter
from slamon.site.views import SnapshotInputs, ViewCache, snapshot_from
from statuspage.render import PageRenderer

if TYPE_CHECKING:
    from slamon.config.model import Config

log = logging.getLogger("slamon.statussite")

WORKER_FROM_COMPONENTS = 200  # render_worker = "auto": a process from this many on


_worker_renderer: PageRenderer | None = None


_worker_views = ViewCache()  # each component's days before today, kept between builds


_worker_writer = SiteWriter()  # links the pages the last build had, unchanged


def _lower_priority() -> None:
    # The render worker yields the CPU to the engine (nice 10); a status page a few
    # seconds late is better than results late.
    with contextlib.suppress(OSError):
        os.nice(10)


def _build_into(inputs: SnapshotInputs, out: str) -> tuple[str, list[str]]:
    """Compute, render and write the whole site (in the render worker).

    Returns the new build folder and the names of its files.
    """
    global _worker_renderer  # noqa: PLW0603  # one per worker process, kept between builds
    if _worker_renderer is None:
        _worker_renderer = PageRenderer()
    files = _worker_renderer.render_site(snapshot_from(inputs, _worker_views))
    build = _worker_writer.write(files, out)
    return str(build), sorted(files)


class FolderFiles(Mapping[str, bytes]):
    """A built site's files in its build folder: the names in memory, bytes read on use.

    The folder is one build (not the link to the current one), so what a reader sees
    never changes under it; the previous build is kept when the next one is swapped in.
    """

    def __init__(self, folder: Path, names: list[str], link: Path) -> None:
        self.folder = folder
        self.link = link
        self._names = frozenset(names)

    def writes_to(self, out: str | Path) -> bool:
        """Whether this build is the one the link ``out`` was swapped to (so is written)."""
        return bool(out) and self.link == Path(out).absolute()

    def __getitem__(self, path: str) -> bytes:
        if path not in self._names:
            raise KeyError(path)
        try:
            return (self.folder / path).read_bytes()
        except FileNotFoundError:  # pruned: two builds have been swapped in since
            raise KeyError(path) from None

    def __contains__(self, path: object) -> bool:
        return path in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def __len__(self) -> int:
        return len(self._names)


class RenderWorker:
    """A separate, lower-priority process that computes and renders the site.

    Rendering a site of a thousand components costs one or two seconds of CPU; in
    the engine's process that is CPU taken from ingestion (and the GIL held from its
    event loop). If the process dies, the builds go on in the service's own process.
    """

    def __init__(self, out: str | Path | None = None) -> None:
        self._private: Path | None = None
        if out:
            self.out = Path(out).absolute()
        else:  # no output folder configured: the worker writes to one of its own
            self._private = Path(tempfile.mkdtemp(prefix="slamon-site-"))
            self.out = self._private / "site"
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

    async def build(self, inputs: SnapshotInputs) -> FolderFiles | None:
        """The site, built and written by the worker process; None once it has died."""
        if self._pool is None:
            return None
        try:
            folder, names = await asyncio.get_running_loop().run_in_executor(
                self._pool, _build_into, inputs, str(self.out)
            )
        except BrokenProcessPool:
            log.error("the status page's render process died; rendering in-process now")
            self._pool = None
            return None
        return FolderFiles(Path(folder), names, self.out)

    def close(self) -> None:
        """Stop the worker process (a build in progress is abandoned)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
