"""One build of the whole site from the store: read its inputs, compute, render."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.time.intervals import Interval
from slamon.site.views import ViewCache, read_snapshot_inputs, snapshot_from
from slamon.store.incidents import load_incidents, load_maintenance

if TYPE_CHECKING:
    from sla_engine.incidents import Incident, MaintenanceWindow
    from slamon.config.model import Config
    from slamon.engine import Engine
    from slamon.site.worker import RenderWorker
    from slamon.store.sql import Store
    from statuspage.render import PageRenderer

INCIDENT_HISTORY = timedelta(days=365)


MAINTENANCE_PAST = timedelta(days=90)


MAINTENANCE_AHEAD = timedelta(days=30)


async def render_from_store(
    config: Config,
    store: Store,
    renderer: PageRenderer,
    now: datetime,
    *,
    engine: Engine | None = None,
    incidents: Sequence[Incident] | None = None,
    maintenance: Sequence[MaintenanceWindow] | None = None,
    worker: RenderWorker | None = None,
    views: ViewCache | None = None,
) -> Mapping[str, bytes]:
    """Read the store and render every file of the site, off the event loop.

    The rendering runs in ``worker``'s process if given (which also writes the files
    to its folder: the answer then reads them from there), else in a thread, with
    ``views`` (kept between builds by the caller) computing only what changed.
    Incidents of the last year and maintenance windows from 90 days back to 30 days
    ahead are loaded from the store and the config unless they are given.
    """
    if incidents is None:
        incidents = await load_incidents(store, Interval(now - INCIDENT_HISTORY, now))
    if maintenance is None:
        window = Interval(now - MAINTENANCE_PAST, now + MAINTENANCE_AHEAD)
        maintenance = await load_maintenance(config, store, window)
    inputs = await read_snapshot_inputs(
        config, engine, store, now, incidents=incidents, maintenance=maintenance
    )
    if worker is not None:
        files = await worker.build(inputs)
        if files is not None:
            return files
    snapshot = await asyncio.to_thread(snapshot_from, inputs, views)
    return await asyncio.to_thread(renderer.render_site, snapshot)
