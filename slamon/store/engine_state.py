"""What the engine resumes from at start: each location's confirmation, and what followed.

The engine writes a ``LocationCheckpoint`` (``slamon.store.sql``) per monitor and
location every few seconds and at a stop, in the writer's transactions beside the
results. At start it
reads them back, with the results stored after each one and the monitors' recent
intervals, and goes on where it was: a restart forgets no confirmation, and opens no
unknown gap where results cover the time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from sla_engine.time.states import State, StateInterval
from slamon.store.schema import as_instant, location_states, results, state_intervals
from slamon.store.sql import LocationCheckpoint

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Replaying more than this many stored results at start is not worth the wait: a
# location without a checkpoint resumes from the last stretch of its results.
_STALE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A stored result, as much of it as confirmation needs."""

    monitor_id: str
    location: str
    at: datetime
    state: State


@dataclass
class EngineState:
    """Everything the engine reads at start to resume."""

    checkpoints: list[LocationCheckpoint] = field(default_factory=list)
    # Stored results after each location's checkpoint (or, without one, its recent
    # ones), in time order.
    evidence: list[Evidence] = field(default_factory=list)
    # Each monitor's intervals that end after ``since`` (or are open), in start order.
    intervals: dict[str, list[StateInterval]] = field(default_factory=dict)
    since: datetime | None = None


async def load(db: AsyncEngine, monitor_ids: Sequence[str], *, since: datetime) -> EngineState:
    """What the engine needs to resume ``monitor_ids``; intervals from ``since`` on."""
    wanted = set(monitor_ids)
    out = EngineState(since=since)
    async with db.connect() as conn:
        for row in await conn.execute(select(location_states)):
            if row.monitor_id in wanted:
                out.checkpoints.append(_checkpoint(row))
        out.evidence = await _evidence_after(conn, out.checkpoints, wanted)
        stmt = select(
            state_intervals.c.monitor_id,
            state_intervals.c.state,
            state_intervals.c.start_at,
            state_intervals.c.end_at,
        ).where(or_(state_intervals.c.end_at.is_(None), state_intervals.c.end_at > since))
        by_monitor: dict[str, list[StateInterval]] = defaultdict(list)
        for monitor_id, state, start, end in await conn.execute(stmt):
            if monitor_id in wanted:
                by_monitor[monitor_id].append(StateInterval(monitor_id, State(state), start, end))
    for spans in by_monitor.values():
        spans.sort(key=lambda si: si.start)
    out.intervals = dict(by_monitor)
    return out


async def _evidence_after(
    conn: AsyncConnection, checkpoints: Sequence[LocationCheckpoint], wanted: set[str]
) -> list[Evidence]:
    """The stored results each location's checkpoint has not seen, in time order.

    Locations without a checkpoint (a store from before checkpoints) get the results of
    the last hour before the latest stored one: enough to know where they stood.
    """
    latest = (await conn.execute(select(func.max(results.c.at)))).scalar()
    if latest is None:
        return []
    latest = as_instant(latest)
    bounds = {(c.monitor_id, c.location): c.last_at for c in checkpoints if c.last_at is not None}
    recent = latest - _STALE
    # One read from the oldest recent bound; locations checkpointed longer ago (silent
    # for an hour or more) are read on their own, from their index.
    low = min((b for b in bounds.values() if b >= recent), default=recent)
    low = min(low, recent)
    evidence: list[Evidence] = []
    stmt = select(results.c.monitor_id, results.c.location, results.c.at, results.c.state).where(
        results.c.at > low
    )
    for monitor_id, location, at, state in await conn.execute(stmt):
        if monitor_id not in wanted:
            continue
        bound = bounds.get((monitor_id, location))
        if bound is None or at > bound:
            evidence.append(Evidence(monitor_id, location, at, State(state)))
    for (monitor_id, location), bound in bounds.items():
        if bound >= low or monitor_id not in wanted:
            continue
        stmt = select(results.c.at, results.c.state).where(
            results.c.monitor_id == monitor_id,
            results.c.location == location,
            results.c.at > bound,
        )
        for at, state in await conn.execute(stmt):
            evidence.append(Evidence(monitor_id, location, at, State(state)))
    evidence.sort(key=lambda e: e.at)
    return evidence


def _checkpoint(row: object) -> LocationCheckpoint:
    r = row
    return LocationCheckpoint(
        r.monitor_id,  # type: ignore[attr-defined]
        r.location,  # type: ignore[attr-defined]
        State(r.confirmed),  # type: ignore[attr-defined]
        r.since,  # type: ignore[attr-defined]
        State(r.run_state) if r.run_state else None,  # type: ignore[attr-defined]
        r.run_length,  # type: ignore[attr-defined]
        r.run_start,  # type: ignore[attr-defined]
        r.last_at,  # type: ignore[attr-defined]
        bool(r.silenced),  # type: ignore[attr-defined]
    )
