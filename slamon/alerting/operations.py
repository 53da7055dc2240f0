"""What happens after a state change: incidents, maintenance, alerts, notifications, SLOs.

One object built from the runtime's parts, started and stopped with it, so that the
shared wiring in ``app.py`` grows by a few lines. Engine listeners (incident manager,
state alerts) run on the engine's call stack and only queue work; the tasks here do
the I/O, so a slow database or a dead receiver never holds up ingestion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from slamon.alerting.alerts import (
    Alerts,
    StateAlerts,
    evaluate_certificates,
    evaluate_contract_forecasts,
    evaluate_slo_alerts,
)
from slamon.alerting.forecasts import forecast_contracts
from slamon.alerting.incidents import IncidentManager
from slamon.alerting.journal import AlertJournal
from slamon.alerting.maintenance import MaintenanceTracker
from slamon.alerting.notify.hub import NotificationHub
from slamon.alerting.slo import SLOEvaluator
from slamon.events import Breach
from slamon.metrics.contracts import ContractCollector
from slamon.metrics.operations import OperationsCollector
from slamon.reports.current import CurrentContracts
from slamon.store.alerts import AlertStore
from slamon.store.incidents import IncidentStore

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.engine import Engine
    from slamon.store.sql import Store

log = logging.getLogger("slamon.operations")


class Operations:
    """Incidents, maintenance, alerts, notifiers and SLOs, wired to the engine."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        store: Store,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.engine = engine
        self.store = store
        self.clock = clock
        self.names = {m.id: m.display_name for m in config.monitors}
        self.incident_store = IncidentStore(store)
        self.incidents = IncidentManager(
            config,
            engine,
            self.incident_store,
            group_window=timedelta(seconds=config.alerts.incident_group_window),
        )
        self.maintenance = MaintenanceTracker(config, store, engine, clock=clock)
        self.hub = NotificationHub.from_config(config)
        self.journal = AlertJournal(AlertStore(store), self.hub, clock=clock)
        self.alerts = Alerts(self.journal.alert)
        self.state_alerts = StateAlerts(self.alerts, self.names)
        self.slos = SLOEvaluator(config, store)
        # Told when an SLO's budget or a contract's period budget is spent, or recovers.
        self.breach_listeners: list[Callable[[Breach], None]] = []
        self._breached: dict[tuple[str, str], bool] = {}
        engine.listeners.append(self.incidents.on_state_change)
        engine.listeners.append(self.state_alerts.on_state_change)
        self.incidents.listeners.append(self.hub.incident)
        # Each calendar contract's current period, refreshed with every evaluation.
        self.contracts = CurrentContracts(config, store)
        if registry is not None:
            registry.register(OperationsCollector(self.slos, self.alerts, self.incidents, self.hub))
            registry.register(ContractCollector(self.contracts))
        self._tasks: list[asyncio.Task[None]] = []
        self._journal_task: asyncio.Task[None] | None = None
        self._last_resend: datetime | None = None

    async def reconfigure(self, config: Config, at: datetime) -> None:
        """Follow a reloaded config; alerts about what it no longer has resolve at ``at``."""
        self.config = config
        self.names.clear()
        self.names.update((m.id, m.display_name) for m in config.monitors)
        self.incidents.reconfigure(config, at)
        self.maintenance.reconfigure(config)
        self.slos.reconfigure(config)
        await self.hub.reconfigure(config)
        self.resolve_orphans(config, at)

    def resolve_orphans(self, config: Config, at: datetime) -> None:
        """Resolve alerts about monitors, SLOs or contracts that ``config`` no longer has."""
        known = {
            "monitor": {m.id for m in config.monitors},
            "slo": {s.id for s in config.slos},
            "contract": {c.id for c in config.contracts},
        }
        for alert in list(self.alerts.active.values()):
            for label, ids in known.items():
                subject = alert.labels.get(label)
                if subject is not None and subject not in ids:
                    self.alerts.clear(alert.labels, at)
                    break

    async def evaluate(self, now: datetime) -> None:
        """One round: certificates, SLOs, and Alertmanager's keep-alive."""
        a = self.config.alerts
        evaluate_certificates(
            self.alerts,
            self.engine,
            self.names,
            now,
            warning=timedelta(seconds=a.cert_expiry_warning),
            critical=timedelta(seconds=a.cert_expiry_critical),
        )
        statuses = await self.slos.evaluate(now)
        for slo in self.config.slos:
            status = statuses.get(slo.id)
            if status is not None:
                self._note_breach(
                    Breach(
                        "slo",
                        slo.id,
                        slo.display_name,
                        status.breached,
                        now,
                        str(status.target),
                        str(status.availability.percent_rounded(4))
                        if status.availability.total
                        else None,
                    )
                )
                evaluate_slo_alerts(
                    self.alerts,
                    slo.id,
                    slo.display_name,
                    status,
                    now,
                    forecast_horizon=timedelta(seconds=a.forecast_horizon),
                )
        if self.config.contracts:
            current = await self.contracts.refresh(now)
            forecasts = await forecast_contracts(self.config, self.store, now, current=current)
            for f in forecasts:
                spent = f.breach_at is not None and f.breach_at <= now
                self._note_breach(
                    Breach("contract", f.contract_id, f.customer_name, spent, now, None, None)
                )
            evaluate_contract_forecasts(
                self.alerts,
                forecasts,
                now,
                forecast_horizon=timedelta(seconds=a.forecast_horizon),
            )
        due = self._last_resend is None or (now - self._last_resend).total_seconds() >= (
            a.resend_interval
        )
        if due:
            self._last_resend = now
            self.hub.resend(self.alerts.active.values())

    def _note_breach(self, breach: Breach) -> None:
        # Told once per change: breached, or recovered. After a start, a breach found
        # at the first evaluation is told (subscribers cannot know it otherwise).
        key = (breach.kind, breach.id)
        before = self._breached.get(key)
        self._breached[key] = breach.breached
        if before == breach.breached or (before is None and not breach.breached):
            return
        for listener in self.breach_listeners:
            try:
                listener(breach)
            except Exception:
                log.exception("a breach listener failed")

    async def _evaluate_forever(self) -> None:
        while True:
            try:
                await self.evaluate(self.clock())
            except Exception:
                log.exception("alert evaluation failed; will try again")
            await asyncio.sleep(self.config.alerts.evaluation_interval)

    async def start(self, *, maintenance: bool = True) -> list[asyncio.Task[None]]:
        """Recover open incidents and active alerts; start the tasks (after migrations).

        ``maintenance``: also the task that applies maintenance windows (in a cluster
        every engine runs that one for its own shards, the leader the rest).
        """
        try:
            await self.incidents.recover()
        except Exception:
            log.exception("could not read open incidents; starting without them")
        try:
            await self.journal.restore(self.alerts)
        except Exception:
            log.exception("could not read the active alerts; starting without them")
        # Alerts about what the config no longer has (edited while slamon was down).
        self.resolve_orphans(self.config, self.clock())
        self._journal_task = asyncio.create_task(self.journal.run(), name="alert-journal")
        self._tasks = [
            asyncio.create_task(self.incidents.run(), name="incidents"),
            asyncio.create_task(self._evaluate_forever(), name="alerts"),
        ]
        if maintenance:
            self._tasks.append(asyncio.create_task(self.maintenance.run(), name="maintenance"))
        return [*self._tasks, *self.hub.start()]

    async def stop(self, grace: float = 5.0) -> None:
        """Finish queued incident work and notifications (``grace`` each), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.incidents.drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.incidents.settle(grace)
        await self.hub.stop(grace)
        # Deliveries made while draining, and anything still queued, into the store.
        if self._journal_task is not None:
            self._journal_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._journal_task
            self._journal_task = None
        await self.journal.close(grace)
