"""One notifier's queue: bounded, deduplicated, retried with backoff, never blocking.

``offer`` is called on the event loop by whoever raises an alert and returns at once:
when the queue is full the message is dropped and counted. One task per notifier
sends in order; a failed send is retried after ``backoff``, doubling up to a minute,
``retries`` times, then given up and counted. A receiver that hangs is cut off by
``timeout`` per attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("slamon.notify")

_MAX_BACKOFF = 60.0
_REMEMBERED = 10_000


class Message(Protocol):
    """What a worker queues: a notification, or a delivery to one subscriber."""

    @property
    def event(self) -> str:
        """What a notifier subscribes to (``alerts``, ``incidents``, ``subscribers``)."""

    @property
    def dedup_key(self) -> str:
        """Equal for two messages that say the same thing."""

    @property
    def subject(self) -> str:
        """A one-line summary, for the log."""


M = TypeVar("M", bound=Message)
M_contra = TypeVar("M_contra", bound=Message, contravariant=True)


class Notifier(Protocol[M_contra]):
    """A receiver: ``send`` raises on failure, ``close`` releases connections."""

    resend_active: bool

    async def send(self, message: M_contra) -> None:
        """Deliver one message or raise."""

    async def close(self) -> None:
        """Release connections."""


class NotifierWorker(Generic[M]):
    """Feeds one notifier from a bounded queue; counters are read by /metrics."""

    def __init__(
        self,
        notifier_id: str,
        kind: str,
        notifier: Notifier[M],
        *,
        events: frozenset[str] = frozenset({"alerts"}),
        queue_size: int = 1000,
        timeout: float = 10.0,
        retries: int = 5,
        backoff: float = 1.0,
    ) -> None:
        self.id = notifier_id
        self.kind = kind
        self.notifier = notifier
        self.events = events
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.queue: asyncio.Queue[M] = asyncio.Queue(queue_size)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.sent = 0
        self.failed = 0
        self.retried = 0
        self.dropped = 0
        self.deduplicated = 0
        self.busy = False
        # Told of each message once delivered (True) or given up (False), with the
        # number of attempts and the last error: the outbox marks it settled.
        self.on_settled: Callable[[NotifierWorker[Any], Any, bool, int, str], None] | None = None

    @property
    def depth(self) -> int:
        """Messages waiting."""
        return self.queue.qsize()

    def offer(self, message: M, *, force: bool = False) -> bool:
        """Queue ``message`` unless filtered, already sent, or the queue is full."""
        if message.event not in self.events:
            return False
        key = message.dedup_key
        if not force:
            if key in self._seen:
                self.deduplicated += 1
                return False
            self._seen[key] = None
            while len(self._seen) > _REMEMBERED:
                self._seen.popitem(last=False)
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("notifier %s: queue full, dropped %d so far", self.id, self.dropped)
            return False
        return True

    async def run(self) -> None:
        """Send queued messages until cancelled."""
        while True:
            message = await self.queue.get()
            self.busy = True
            try:
                await self.deliver(message)
            finally:
                self.busy = False

    async def deliver(self, message: M) -> bool:
        """Send with retries; True when delivered."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                async with asyncio.timeout(self.timeout):
                    await self.notifier.send(message)
            except Exception as exc:
                if attempt == self.retries:
                    self.failed += 1
                    self._settle(message, False, attempt + 1, f"{type(exc).__name__}: {exc}")
                    log.error(
                        "notifier %s: gave up on %s after %d attempts: %s: %s",
                        self.id,
                        message.subject,
                        attempt + 1,
                        type(exc).__name__,
                        exc,
                    )
                    return False
                self.retried += 1
                log.warning(
                    "notifier %s: attempt %d failed (%s: %s); retrying in %.1fs",
                    self.id,
                    attempt + 1,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
            else:
                self.sent += 1
                self._settle(message, True, attempt + 1, "")
                return True
        return False

    async def drain(self) -> None:
        """Deliver what is queued now (at shutdown; the caller bounds the time)."""
        while not self.queue.empty():
            await self.deliver(self.queue.get_nowait())

    def _settle(self, message: M, sent: bool, attempts: int, error: str) -> None:
        if self.on_settled is not None:
            try:
                self.on_settled(self, message, sent, attempts, error)
            except Exception:
                log.exception("notifier %s: recording a delivery failed", self.id)
