"""The fan-out: every alert and incident event offered to every notifier's worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slamon.alerting.notify.message import Notification
from slamon.alerting.notify.registry import NOTIFIER_TYPES
from slamon.alerting.notify.worker import NotifierWorker

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.config.notifiers import NotifierConfig
    from slamon.events import Alert, IncidentEvent

log = logging.getLogger("slamon.notify")


def _worker(n: NotifierConfig) -> NotifierWorker[Any]:
    return NotifierWorker(
        n.id,
        n.type,
        NOTIFIER_TYPES[n.type](n.settings),
        events=frozenset(n.events),
        queue_size=n.queue_size,
        timeout=n.timeout,
        retries=n.retries,
        backoff=n.backoff,
    )


def _start(worker: NotifierWorker[Any]) -> asyncio.Task[None]:
    return asyncio.create_task(worker.run(), name=f"notifier-{worker.id}")


class NotificationHub:
    """Owns the workers; offering never blocks the caller."""

    def __init__(self, workers: Iterable[NotifierWorker[Any]]) -> None:
        # Subscriber deliveries' workers join this list too (their event is
        # "subscribers", so alerts and incidents never reach them): one start, one
        # stop, one set of metrics. Reloads and the outbox concern configured ones only.
        self.workers: list[NotifierWorker[Any]] = list(workers)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._settings: dict[str, NotifierConfig] = {}
        self._running = False
        self.on_settled: Callable[[NotifierWorker[Any], Any, bool, int, str], None] | None = None

    @classmethod
    def from_config(cls, config: Config) -> NotificationHub:
        """A worker per configured notifier (settings were validated at load)."""
        hub = cls(_worker(n) for n in config.notifiers)
        hub._settings = {n.id: n for n in config.notifiers}
        return hub

    async def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config: new notifiers start, changed and removed ones close.

        A notifier whose settings are unchanged keeps its worker and its queue.
        """
        wanted = {n.id: n for n in config.notifiers}
        keep = [
            w
            for w in self.workers
            if w.id not in self._settings or self._settings[w.id] == wanted.get(w.id)
        ]
        kept = {w.id for w in keep}
        gone = [w for w in self.workers if w.id not in kept]
        fresh = [_worker(n) for n in config.notifiers if n.id not in kept]
        for w in fresh:
            w.on_settled = self.on_settled
        self.workers = keep + fresh
        self._settings = wanted
        for w in gone:
            task = self._tasks.pop(w.id, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            try:
                await w.notifier.close()
            except Exception:
                log.exception("closing notifier %s failed", w.id)
        if self._running:
            self._tasks.update((w.id, _start(w)) for w in fresh)

    def alert(self, alert: Alert) -> None:
        """An alert fired or resolved."""
        message = Notification(alert=alert)
        for worker in self.workers:
            worker.offer(message)

    def incident(self, event: IncidentEvent) -> None:
        """An incident opened, changed or resolved."""
        message = Notification(incident=event)
        for worker in self.workers:
            worker.offer(message)

    def resend(self, active: Iterable[Alert]) -> None:
        """Send firing alerts again to receivers that forget them (Alertmanager)."""
        alerts = list(active)
        for worker in self.workers:
            if worker.notifier.resend_active and worker.depth == 0 and not worker.busy:
                for alert in alerts:
                    worker.offer(Notification(alert=alert), force=True)

    def start(self) -> list[asyncio.Task[None]]:
        """One sending task per worker."""
        self._running = True
        for w in self.workers:
            if w.id in self._settings:
                w.on_settled = self.on_settled
        self._tasks = {w.id: _start(w) for w in self.workers}
        return list(self._tasks.values())

    async def stop(self, grace: float = 5.0) -> None:
        """Send what is queued (at most ``grace`` seconds), then stop and close."""
        self._running = False
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = {}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                for worker in self.workers:
                    await worker.drain()
        for worker in self.workers:
            try:
                await worker.notifier.close()
            except Exception:
                log.exception("closing notifier %s failed", worker.id)
