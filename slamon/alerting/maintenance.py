"""Maintenance windows: the config's and the stored ones, and the task that applies them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.time.intervals import Interval
from slamon.store.incidents import expand, load_schedules

if TYPE_CHECKING:
    from sla_engine.incidents import MaintenanceWindow
    from sla_engine.time.recurrence import MaintenanceSchedule
    from slamon.config.model import Config
    from slamon.engine import Engine
    from slamon.store.sql import Store

log = logging.getLogger("slamon.maintenance")


class MaintenanceTracker:
    """Puts monitors in and out of maintenance as windows begin and end.

    Schedules (config and store) are re-read every ``reload_every`` seconds and at
    once after :meth:`changed`; between reads the tracker sleeps until the next window
    boundary. A monitor is covered when a component it belongs to is in a window.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reload_every: float = 60.0,
    ) -> None:
        self.config = config
        self.store = store
        self.engine = engine
        self.clock = clock
        self.reload_every = reload_every
        self.monitors_of = {c.id: tuple(c.monitors) for c in config.effective_components()}
        self.schedules: list[MaintenanceSchedule] = [m.schedule() for m in config.maintenance]
        self.active: list[MaintenanceWindow] = []
        self._changed = asyncio.Event()

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config: its components and windows, applied at the next turn."""
        self.config = config
        self.monitors_of = {c.id: tuple(c.monitors) for c in config.effective_components()}
        self.changed()

    def changed(self) -> None:
        """Schedules were added or removed: re-read them now."""
        self._changed.set()

    def covered(self, window: MaintenanceWindow) -> set[str]:
        """The monitors a window covers."""
        return {m for c in window.component_ids for m in self.monitors_of.get(c, ())}

    def apply(self, now: datetime) -> float:
        """Enter and leave maintenance for ``now``; return seconds to the next boundary."""
        ahead = Interval(now, now + timedelta(seconds=self.reload_every))
        windows = expand(self.schedules, ahead)
        self.active = [w for w in windows if w.start <= now < w.end]
        covered: set[str] = set()
        for w in self.active:
            covered |= self.covered(w)
        for monitor_id in sorted(self.engine.in_maintenance - covered):
            self.engine.leave_maintenance(monitor_id, now)
        for monitor_id in sorted(covered - self.engine.in_maintenance):
            self.engine.enter_maintenance(monitor_id, now)
        bounds = [b for w in windows for b in (w.start, w.end) if b > now]
        if not bounds:
            return self.reload_every
        return max(0.0, (min(bounds) - now).total_seconds())

    async def run(self) -> None:
        """Track windows until cancelled."""
        last_load = -1e18
        loop = asyncio.get_running_loop()
        while True:
            if self._changed.is_set() or loop.time() - last_load >= self.reload_every:
                self._changed.clear()
                try:
                    self.schedules = await load_schedules(self.config, self.store)
                    last_load = loop.time()
                except Exception:
                    log.exception("reading maintenance windows failed; keeping the old ones")
                    last_load = loop.time()
            wait = min(self.apply(self.clock()), self.reload_every)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.01)):
                    await self._changed.wait()
