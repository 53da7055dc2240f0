"""The fan-out: every alert and incident event offered to every notifier's worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slamon.alerting.notify.message import Notification
from slamon.alerting.notify.registry import NOTIFIER_TYPES
from slamon.alerting.notify.worker import NotifierWorker

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.events import Alert, IncidentEvent

log = logging.getLogger("slamon.notify")


class NotificationHub:
    """Owns the workers; offering never blocks the caller."""

    def __init__(self, workers: Iterable[NotifierWorker[Any]]) -> None:
        # Subscriber deliveries' workers join this list too (their event is
        # "subscribers", so alerts and incidents never reach them): one start, one
        # stop, one set of metrics.
        self.workers: list[NotifierWorker[Any]] = list(workers)
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_config(cls, config: Config) -> NotificationHub:
        """A worker per configured notifier (settings were validated at load)."""
        workers: list[NotifierWorker[Any]] = []
        for n in config.notifiers:
            notifier = NOTIFIER_TYPES[n.type](n.settings)
            workers.append(
                NotifierWorker(
                    n.id,
                    n.type,
                    notifier,
                    events=frozenset(n.events),
                    queue_size=n.queue_size,
                    timeout=n.timeout,
                    retries=n.retries,
                    backoff=n.backoff,
                )
            )
        return cls(workers)

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
        self._tasks = [asyncio.create_task(w.run(), name=f"notifier-{w.id}") for w in self.workers]
        return list(self._tasks)

    async def stop(self, grace: float = 5.0) -> None:
        """Send what is queued (at most ``grace`` seconds), then stop and close."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                for worker in self.workers:
                    await worker.drain()
        for worker in self.workers:
            try:
                await worker.notifier.close()
            except Exception:
                log.exception("closing notifier %s failed", worker.id)
