"""The bus between probes and the engine; in one process, an asyncio queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probes.result import Result

log = logging.getLogger("slamon.bus")


class InProcessBus:
    """A bounded queue: probes publish without waiting, one consumer ingests.

    When the consumer falls so far behind that the queue is full, the newest result is
    dropped and counted rather than stalling every probe.
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self._queue: asyncio.Queue[Result] = asyncio.Queue(maxsize)
        self.published = 0
        self.dropped = 0

    def publish(self, result: Result) -> None:
        """Hand a result to the consumer."""
        try:
            self._queue.put_nowait(result)
            self.published += 1
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error("bus full: dropped %d results so far", self.dropped)

    @property
    def depth(self) -> int:
        """Results waiting for the consumer."""
        return self._queue.qsize()

    async def consume(self, handle: Callable[[Result], object]) -> None:
        """Feed every result to ``handle`` until cancelled."""
        while True:
            result = await self._queue.get()
            try:
                handle(result)
            except Exception:
                log.exception(
                    "ingesting a result failed",
                    extra={"monitor": result.monitor_id, "location": result.location},
                )

    async def drain(self, handle: Callable[[Result], object]) -> None:
        """Feed what is queued now to ``handle`` (at shutdown)."""
        while not self._queue.empty():
            handle(self._queue.get_nowait())
