"""Incidents for readers (reports, status page): one import for everyone."""

from __future__ import annotations

from collections.abc import Iterable

from sla_engine.incidents import Incident
from sla_engine.time.intervals import Interval
from slamon.store.incidents import IncidentStore
from slamon.store.sql import Store


async def load_incidents(
    store: Store, window: Interval, component_ids: Iterable[str] | None = None
) -> list[Incident]:
    """Incidents overlapping ``window`` (open ones included), with updates, by ``opened``."""
    return await IncidentStore(store).incidents(window, component_ids)
