"""Alerts that survive a restart: the active set and the outbox, kept in the store.

Every alert that fires or resolves is written (active set and one outbox row per
notifier) before it is offered for sending, and each delivery is written when it
happened. At the next start the active alerts come back without being sent again,
and what was not delivered yet is sent then. So a restart never fires an alert
twice, and one that resolved while slamon was down is resolved after it starts.

Writes run in one task, in order, off the engine's call stack. While the store fails,
alerts are offered at once all the same (an alert must not wait for a database) and
written once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slamon.alerting.notify.message import Notification
from slamon.store.alerts import AlertChange, Delivery

if TYPE_CHECKING:
    from slamon.alerting.alerts import Alerts
    from slamon.alerting.notify.hub import NotificationHub
    from slamon.alerting.notify.worker import NotifierWorker
    from slamon.events import Alert
    from slamon.store.alerts import AlertStore

log = logging.getLogger("slamon.alerts")

KEEP_SENT = timedelta(days=7)  # settled outbox rows are kept this long, for reading back
_PRUNE_EVERY = 3600.0


@dataclass
class _Pending:
    op: AlertChange | Delivery
    offered: bool = False


class AlertJournal:
    """Writes alert changes and deliveries; offers each change once it is written."""

    def __init__(
        self,
        store: AlertStore,
        hub: NotificationHub,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.hub = hub
        self.clock = clock
        self._pending: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        # (notifier, key) of outbox rows not settled yet: only their deliveries are
        # written (Alertmanager's keep-alive resends are not in the outbox).
        self._open: set[tuple[str, str]] = set()
        self._writing: asyncio.Future[None] | None = None
        self.healthy = True
        self.started = False
        self.errors = 0
        hub.on_settled = self.settled

    def alert(self, alert: Alert) -> None:
        """The sink of ``Alerts``: an alert fired or resolved."""
        message = Notification(alert=alert)
        notifiers = tuple(w.id for w in self.hub.workers if message.event in w.events)
        change = AlertChange(alert, message.dedup_key, notifiers, self.clock())
        self._open.update((n, change.key) for n in notifiers)
        item = _Pending(change)
        self._pending.append(item)
        if not self.healthy or not self.started:
            self._offer(item)  # the store is away (or not yet used): send now, write later
        self._wake.set()

    def settled(
        self,
        worker: NotifierWorker[Any],
        message: Notification,
        sent: bool,
        attempts: int,
        error: str,
    ) -> None:
        """A notifier delivered ``message``, or gave up on it."""
        key = (worker.id, message.dedup_key)
        if message.alert is None or key not in self._open:
            return
        self._open.discard(key)
        self._pending.append(
            _Pending(Delivery(worker.id, key[1], self.clock(), sent, attempts, error))
        )
        self._wake.set()

    def _offer(self, item: _Pending) -> None:
        if isinstance(item.op, AlertChange) and not item.offered:
            item.offered = True
            self.hub.alert(item.op.alert)

    async def restore(self, alerts: Alerts) -> None:
        """At start: the alerts active when the last run stopped, and its unsent messages."""
        active = await self.store.active()
        alerts.restore(active)
        if active:
            log.info("%d alerts were firing at the last stop; they are active again", len(active))
        workers = {w.id: w for w in self.hub.workers}
        unsent = await self.store.unsent(workers)
        for u in unsent:
            self._open.add((u.notifier_id, u.key))
            workers[u.notifier_id].offer(Notification(alert=u.alert), force=True)
        if unsent:
            log.info("sending %d notifications the last run did not deliver", len(unsent))

    async def write_pending(self) -> None:
        """Write what is queued (raise if the store fails); offer the changes written."""
        batch = list(self._pending)
        if not batch:
            return
        changes = [i.op for i in batch if isinstance(i.op, AlertChange)]
        deliveries = [i.op for i in batch if isinstance(i.op, Delivery)]
        await self.store.write(changes, deliveries)
        for _ in batch:
            self._pending.popleft()
        for item in batch:
            self._offer(item)

    async def run(self) -> None:
        """Write until cancelled; prune settled outbox rows now and then."""
        loop = asyncio.get_running_loop()
        self.started = True
        pruned = -_PRUNE_EVERY
        backoff = 0.5
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                # Shielded: a stop that cuts a write off mid-way would leave its
                # transaction (and SQLite's lock) open; close() waits for it instead.
                self._writing = asyncio.ensure_future(self.write_pending())
                await asyncio.shield(self._writing)
                if not self.healthy:
                    log.warning("alert state is written to the store again")
                self.healthy, backoff = True, 0.5
                if loop.time() - pruned >= _PRUNE_EVERY:
                    pruned = loop.time()
                    await self.store.prune(self.clock() - KEEP_SENT)
            except Exception as exc:
                self.errors += 1
                if self.healthy:
                    log.error(
                        "writing alert state failed, will retry: %s: %s", type(exc).__name__, exc
                    )
                self.healthy = False
                for item in self._pending:
                    self._offer(item)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                self._wake.set()

    async def close(self, grace: float) -> None:
        """At stop: write what is left, for at most ``grace`` seconds."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(grace):
                if self._writing is not None and not self._writing.done():
                    await asyncio.wait({self._writing})
                await self.write_pending()
        if self._pending:
            log.error("%d alert changes could not be written at stop", len(self._pending))
