"""What happens after a state change: incidents, maintenance, alerts, notifications, SLOs.

One object built from the runtime's parts, started and stopped with it, so that the
shared wiring in ``app.py`` grows by three lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slamon.config import Config
from slamon.engine import Engine
from slamon.incident_manager import IncidentManager
from slamon.maintenance import MaintenanceTracker
from slamon.store.incidents import IncidentStore
from slamon.store.sql import Store

log = logging.getLogger("slamon.operations")


class Operations:
    """Incident manager and maintenance tracker, wired to the engine."""

    def __init__(self, config: Config, engine: Engine, store: Store) -> None:
        self.config = config
        self.engine = engine
        self.store = store
        self.incident_store = IncidentStore(store)
        self.incidents = IncidentManager(config, engine, self.incident_store)
        self.maintenance = MaintenanceTracker(config, store, engine)
        engine.listeners.append(self.incidents.on_state_change)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> list[asyncio.Task[None]]:
        """Recover open incidents and start the tasks (after the migrations ran)."""
        try:
            await self.incidents.recover()
        except Exception:
            log.exception("could not read open incidents; starting without them")
        self._tasks = [
            asyncio.create_task(self.incidents.run(), name="incidents"),
            asyncio.create_task(self.maintenance.run(), name="maintenance"),
        ]
        return list(self._tasks)

    async def stop(self) -> None:
        """Finish queued incident work (bounded), then cancel the tasks."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.incidents.drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
