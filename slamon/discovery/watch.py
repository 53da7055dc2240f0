"""The task that re-reads discovery files when they change (watchfiles).

Every ``refresh`` it reads them as well, in case a change was not seen (a network
file system).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from watchfiles import awatch

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

log = logging.getLogger("slamon.discovery")

# Writers replace a file in several steps (write a temporary file, rename): changes
# that come within this many milliseconds are one change.
DEBOUNCE_MS = 200
# How often the watching thread looks up from the file system (and we at the clock).
_TICK_MS = 1000


class DiscoveryWatcher:
    """Calls ``changed`` after files in the watched folders change, and every refresh."""

    def __init__(
        self,
        directories: Callable[[], list[Path]],
        changed: Callable[[], Awaitable[object]],
        refresh: Callable[[], float],
        sources_changed: asyncio.Event,
    ) -> None:
        self.directories = directories
        self.changed = changed
        self.refresh = refresh
        self.sources_changed = sources_changed
        # watchfiles' thread checks this every step; cancelling alone waits for its tick.
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Make :meth:`run` return soon (call before cancelling its task)."""
        self._stop.set()

    async def _call(self) -> None:
        try:
            await self.changed()
        except Exception:
            log.exception("re-reading the discovery files failed; will try again")

    async def run(self) -> None:
        """Watch until stopped; the folders follow reloads that change the sources."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not self._stop.is_set():
            self.sources_changed.clear()
            dirs = [d for d in self.directories() if d.is_dir()]
            if not dirs:
                # Nothing to watch (yet): look again at each refresh or when sources change.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(self.refresh(), 60.0)):
                        await self.sources_changed.wait()
                if self._stop.is_set():
                    return
                await self._call()
                continue
            async for changes in awatch(
                *dirs,
                stop_event=self._stop,
                debounce=DEBOUNCE_MS,
                rust_timeout=_TICK_MS,
                yield_on_timeout=True,
                recursive=False,
            ):
                now = loop.time()
                if changes or now - last >= self.refresh():
                    last = now
                    await self._call()
                if self.sources_changed.is_set():
                    break  # the folders to watch may differ now
