"""Maintenance windows in force: the config's and the stored ones, expanded over a window."""

from __future__ import annotations

import logging

from sla_engine.incidents import MaintenanceWindow
from sla_engine.intervals import Interval
from sla_engine.recurrence import MaintenanceSchedule
from slamon.config import Config
from slamon.store.incidents import IncidentStore
from slamon.store.sql import Store

log = logging.getLogger("slamon.maintenance")


def expand(schedules: list[MaintenanceSchedule], window: Interval) -> list[MaintenanceWindow]:
    """Every occurrence of ``schedules`` overlapping ``window``, sorted by start then id.

    A schedule that cannot be expanded (a cron line firing too often) is logged and
    left out rather than failing every caller.
    """
    out: list[MaintenanceWindow] = []
    for schedule in schedules:
        try:
            out.extend(schedule.windows(window))
        except ValueError as exc:
            log.error("maintenance %s: cannot expand: %s", schedule.id, exc)
    out.sort(key=lambda w: (w.start, w.end, w.id))
    return out


async def load_schedules(config: Config, store: Store) -> list[MaintenanceSchedule]:
    """The config's schedules followed by the stored ones."""
    return [m.schedule() for m in config.maintenance] + await IncidentStore(store).maintenance()


async def load_maintenance(
    config: Config, store: Store, window: Interval
) -> list[MaintenanceWindow]:
    """Config one-offs, recurring occurrences and stored windows overlapping ``window``."""
    stored = await IncidentStore(store).maintenance(window)
    return expand([m.schedule() for m in config.maintenance] + stored, window)
