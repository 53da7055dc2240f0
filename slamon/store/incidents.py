"""Incidents, their timelines and stored maintenance windows, on SQLite or PostgreSQL.

Also what readers (reports, the status page) load: incidents of a window, and the
maintenance windows of the config's schedules and the stored ones together.

Every write is one transaction that reads the incident row first (``FOR UPDATE`` on
PostgreSQL), so the incident manager, the admin API and the CLI can write at once.

Rules kept here, so every writer follows them:

* An incident's status is the status of its latest update.
* ``acknowledged`` is set once: by :meth:`IncidentStore.acknowledge`, or by the first
  update a person writes (``human=True``); automatic updates never acknowledge.
* ``resolved`` is set by the first update whose status is resolved or postmortem;
  an update with an open status after it reopens the incident (clears ``resolved``).
* Times before ``opened`` (a back-dated outage start) are moved to ``opened``.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceWindow,
)
from sla_engine.time.recurrence import MaintenanceSchedule
from slamon.store.schema import (
    incident_components,
    incident_updates,
    incidents,
    maintenance_components,
    maintenance_windows,
)

if TYPE_CHECKING:
    from sla_engine.time.intervals import Interval
    from slamon.config.model import Config
    from slamon.store.sql import Store

log = logging.getLogger("slamon.maintenance")

AUTOMATIC_AUTHOR = "slamon"
_CHUNK = 300  # SQLite limits the bound parameters of one statement


class IncidentNotFound(LookupError):
    """No incident has the given id."""


def new_incident_id(opened: datetime) -> str:
    """A readable, unique id: the UTC day it opened and eight random hex digits."""
    return f"{opened.astimezone(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"


class IncidentStore:
    """Reads and writes of incidents and maintenance windows through a Store's engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -- reads --------------------------------------------------------------------

    async def incidents(
        self, window: Interval, component_ids: Iterable[str] | None = None
    ) -> list[Incident]:
        """Incidents overlapping ``window`` (open ones included), ordered by ``opened``.

        With ``component_ids``, only incidents on at least one of those components.
        """
        stmt = (
            select(incidents)
            .where(
                incidents.c.opened < window.end,
                or_(incidents.c.resolved.is_(None), incidents.c.resolved > window.start),
            )
            .order_by(incidents.c.opened, incidents.c.id)
        )
        if component_ids is not None:
            wanted = sorted(set(component_ids))
            if not wanted:
                return []
            stmt = stmt.where(
                exists().where(
                    incident_components.c.incident_id == incidents.c.id,
                    incident_components.c.component_id.in_(wanted),
                )
            )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            return await self._assemble(conn, rows)

    async def open_incidents(self) -> list[Incident]:
        """Every incident not yet resolved, ordered by ``opened``."""
        stmt = (
            select(incidents)
            .where(incidents.c.resolved.is_(None))
            .order_by(incidents.c.opened, incidents.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            return await self._assemble(conn, rows)

    async def incident(self, incident_id: str) -> Incident | None:
        """One incident with its timeline, or None."""
        async with self.engine.connect() as conn:
            return await self._one(conn, incident_id)

    async def acknowledged_by(self, incident_id: str) -> str:
        """Who acknowledged the incident ('' when nobody has)."""
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(incidents.c.acknowledged_by).where(incidents.c.id == incident_id)
                )
            ).scalar()
        if value is None:
            raise IncidentNotFound(incident_id)
        return str(value)

    async def _one(self, conn: AsyncConnection, incident_id: str) -> Incident | None:
        rows = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).all()
        found = await self._assemble(conn, rows)
        return found[0] if found else None

    async def _assemble(self, conn: AsyncConnection, rows: Sequence[object]) -> list[Incident]:
        ids = [row.id for row in rows]  # type: ignore[attr-defined]
        components: dict[str, list[str]] = defaultdict(list)
        updates: dict[str, list[IncidentUpdate]] = defaultdict(list)
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            for incident_id, component_id in await conn.execute(
                select(incident_components.c.incident_id, incident_components.c.component_id)
                .where(incident_components.c.incident_id.in_(chunk))
                .order_by(incident_components.c.incident_id, incident_components.c.component_id)
            ):
                components[incident_id].append(component_id)
            for u in await conn.execute(
                select(incident_updates)
                .where(incident_updates.c.incident_id.in_(chunk))
                .order_by(
                    incident_updates.c.incident_id, incident_updates.c.at, incident_updates.c.id
                )
            ):
                updates[u.incident_id].append(
                    IncidentUpdate(u.at, IncidentStatus(u.status), u.message, u.author)
                )
        return [
            Incident(
                id=row.id,  # type: ignore[attr-defined]
                title=row.title,  # type: ignore[attr-defined]
                component_ids=tuple(components[row.id]),  # type: ignore[attr-defined]
                impact=Impact(row.impact),  # type: ignore[attr-defined]
                status=IncidentStatus(row.status),  # type: ignore[attr-defined]
                opened=row.opened,  # type: ignore[attr-defined]
                acknowledged=row.acknowledged,  # type: ignore[attr-defined]
                resolved=row.resolved,  # type: ignore[attr-defined]
                updates=tuple(updates[row.id]),  # type: ignore[attr-defined]
                automatic=bool(row.automatic),  # type: ignore[attr-defined]
                excluded=(
                    ExclusionKind(row.excluded_kind)  # type: ignore[attr-defined]
                    if row.excluded_kind  # type: ignore[attr-defined]
                    else None
                ),
                exclusion_reason=row.exclusion_reason,  # type: ignore[attr-defined]
                excluded_by=row.excluded_by,  # type: ignore[attr-defined]
            )
            for row in rows
        ]

    # -- writes -------------------------------------------------------------------

    async def open(
        self,
        *,
        title: str,
        component_ids: Iterable[str],
        impact: Impact,
        opened: datetime,
        message: str = "",
        author: str = AUTOMATIC_AUTHOR,
        status: IncidentStatus = IncidentStatus.INVESTIGATING,
        automatic: bool = True,
        incident_id: str | None = None,
    ) -> Incident:
        """Create an incident with its first timeline entry (at ``opened``)."""
        if not title.strip():
            raise ValueError("an incident needs a title")
        if not status.open:
            raise ValueError("an incident opens with an open status")
        comps = sorted(set(component_ids))
        if not comps:
            raise ValueError("an incident needs at least one component")
        incident_id = incident_id or new_incident_id(opened)
        async with self.engine.begin() as conn:
            await conn.execute(
                incidents.insert().values(
                    id=incident_id,
                    title=title,
                    impact=Impact(impact).value,
                    status=status.value,
                    opened=opened,
                    acknowledged=None,
                    acknowledged_by="",
                    resolved=None,
                    automatic=automatic,
                    excluded_kind=None,
                    exclusion_reason="",
                    excluded_by="",
                    excluded_at=None,
                )
            )
            await conn.execute(
                incident_components.insert(),
                [{"incident_id": incident_id, "component_id": c} for c in comps],
            )
            await conn.execute(
                incident_updates.insert().values(
                    incident_id=incident_id,
                    at=opened,
                    status=status.value,
                    message=message or title,
                    author=author,
                )
            )
            if not automatic:
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.id == incident_id)
                    .values(acknowledged=opened, acknowledged_by=author)
                )
            found = await self._one(conn, incident_id)
        assert found is not None
        return found

    async def _locked(self, conn: AsyncConnection, incident_id: str) -> Incident:
        row = (
            await conn.execute(
                select(incidents.c.id).where(incidents.c.id == incident_id).with_for_update()
            )
        ).first()
        if row is None:
            raise IncidentNotFound(incident_id)
        found = await self._one(conn, incident_id)
        assert found is not None
        return found

    async def add_update(
        self,
        incident_id: str,
        status: IncidentStatus,
        message: str,
        author: str,
        at: datetime,
        *,
        human: bool = True,
    ) -> Incident:
        """Append a timeline entry; it sets the status and may acknowledge or resolve."""
        if not message.strip():
            raise ValueError("an update needs a message")
        if not author.strip():
            raise ValueError("an update needs an author")
        status = IncidentStatus(status)
        async with self.engine.begin() as conn:
            current = await self._locked(conn, incident_id)
            at = max(at, current.opened)
            values: dict[str, object] = {"status": status.value}
            if human and current.acknowledged is None:
                values.update(acknowledged=at, acknowledged_by=author)
            if status.open:
                values["resolved"] = None
            elif current.resolved is None:
                values["resolved"] = at
            await conn.execute(
                incident_updates.insert().values(
                    incident_id=incident_id,
                    at=at,
                    status=status.value,
                    message=message,
                    author=author,
                )
            )
            await conn.execute(
                update(incidents).where(incidents.c.id == incident_id).values(**values)
            )
            found = await self._one(conn, incident_id)
        assert found is not None
        return found

    async def acknowledge(self, incident_id: str, author: str, at: datetime) -> Incident:
        """Record that a person took the incident on; a later acknowledgement changes nothing."""
        if not author.strip():
            raise ValueError("an acknowledgement needs an author")
        async with self.engine.begin() as conn:
            current = await self._locked(conn, incident_id)
            if current.acknowledged is None:
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.id == incident_id)
                    .values(acknowledged=max(at, current.opened), acknowledged_by=author)
                )
            found = await self._one(conn, incident_id)
        assert found is not None
        return found

    async def resolve(
        self, incident_id: str, at: datetime, message: str, author: str, *, human: bool = True
    ) -> Incident:
        """Resolve with a timeline entry (a no-op on an incident already resolved)."""
        current = await self.incident(incident_id)
        if current is None:
            raise IncidentNotFound(incident_id)
        if current.resolved is not None:
            return current
        return await self.add_update(
            incident_id, IncidentStatus.RESOLVED, message, author, at, human=human
        )

    async def set_fields(
        self,
        incident_id: str,
        *,
        title: str | None = None,
        impact: Impact | None = None,
        component_ids: Iterable[str] | None = None,
    ) -> Incident:
        """Change the title, impact or components (the manager widens an incident)."""
        async with self.engine.begin() as conn:
            await self._locked(conn, incident_id)
            values: dict[str, object] = {}
            if title is not None:
                if not title.strip():
                    raise ValueError("an incident needs a title")
                values["title"] = title
            if impact is not None:
                values["impact"] = Impact(impact).value
            if values:
                await conn.execute(
                    update(incidents).where(incidents.c.id == incident_id).values(**values)
                )
            if component_ids is not None:
                comps = sorted(set(component_ids))
                if not comps:
                    raise ValueError("an incident needs at least one component")
                await conn.execute(
                    delete(incident_components).where(
                        incident_components.c.incident_id == incident_id
                    )
                )
                await conn.execute(
                    incident_components.insert(),
                    [{"incident_id": incident_id, "component_id": c} for c in comps],
                )
            found = await self._one(conn, incident_id)
        assert found is not None
        return found

    async def mark_excluded(
        self,
        incident_id: str,
        kind: ExclusionKind | None,
        reason: str,
        by: str,
        at: datetime | None = None,
    ) -> Incident:
        """Exclude the incident from SLA accounting (``kind`` None lifts the mark).

        The reason and who marked it are mandatory and kept for finance reports.
        """
        if kind is not None and not reason.strip():
            raise ValueError("an exclusion needs a reason")
        if not by.strip():
            raise ValueError("say who marks the exclusion")
        at = at or datetime.now(UTC)
        async with self.engine.begin() as conn:
            await self._locked(conn, incident_id)
            await conn.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(
                    excluded_kind=ExclusionKind(kind).value if kind is not None else None,
                    exclusion_reason=reason if kind is not None else "",
                    excluded_by=by,
                    excluded_at=at,
                )
            )
            found = await self._one(conn, incident_id)
        assert found is not None
        return found

    # -- maintenance --------------------------------------------------------------

    async def add_maintenance(
        self, schedule: MaintenanceSchedule, created_by: str, created_at: datetime
    ) -> None:
        """Store a maintenance window (one-off or recurring); its id must be new."""
        start = schedule.start
        if start is None:  # recurring with no lower bound: from when it was created
            start = created_at
            schedule = replace(schedule, start=start)
        async with self.engine.begin() as conn:
            await conn.execute(
                maintenance_windows.insert().values(
                    id=schedule.id,
                    title=schedule.title,
                    description=schedule.description,
                    start_at=start,
                    end_at=schedule.end,
                    cron=schedule.cron,
                    duration_seconds=(
                        int(schedule.duration // timedelta(seconds=1))
                        if schedule.duration is not None
                        else None
                    ),
                    timezone=schedule.timezone,
                    created_by=created_by,
                    created_at=created_at,
                )
            )
            if schedule.component_ids:
                await conn.execute(
                    maintenance_components.insert(),
                    [
                        {"maintenance_id": schedule.id, "component_id": c}
                        for c in sorted(set(schedule.component_ids))
                    ],
                )

    async def delete_maintenance(self, maintenance_id: str) -> bool:
        """Remove a stored maintenance window; False when there was none."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(maintenance_components).where(
                    maintenance_components.c.maintenance_id == maintenance_id
                )
            )
            res = await conn.execute(
                delete(maintenance_windows).where(maintenance_windows.c.id == maintenance_id)
            )
            return bool(res.rowcount)

    async def maintenance(self, window: Interval | None = None) -> list[MaintenanceSchedule]:
        """Stored schedules that may have an occurrence overlapping ``window`` (all if None).

        A recurring schedule is returned when its bounds overlap the window; expand it
        with :meth:`MaintenanceSchedule.windows`.
        """
        stmt = select(maintenance_windows).order_by(
            maintenance_windows.c.start_at, maintenance_windows.c.id
        )
        if window is not None:
            stmt = stmt.where(
                maintenance_windows.c.start_at < window.end,
                or_(
                    maintenance_windows.c.end_at.is_(None),
                    maintenance_windows.c.end_at > window.start,
                    # a recurring occurrence may begin before its end bound and run past it
                    maintenance_windows.c.cron.is_not(None),
                ),
            )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
            comps: dict[str, list[str]] = defaultdict(list)
            ids = [r.id for r in rows]
            for i in range(0, len(ids), _CHUNK):
                for mid, cid in await conn.execute(
                    select(
                        maintenance_components.c.maintenance_id,
                        maintenance_components.c.component_id,
                    )
                    .where(maintenance_components.c.maintenance_id.in_(ids[i : i + _CHUNK]))
                    .order_by(maintenance_components.c.component_id)
                ):
                    comps[mid].append(cid)
        return [
            MaintenanceSchedule(
                id=r.id,
                title=r.title,
                description=r.description,
                component_ids=tuple(comps[r.id]),
                start=r.start_at,
                end=r.end_at,
                cron=r.cron,
                duration=(
                    timedelta(seconds=r.duration_seconds)
                    if r.duration_seconds is not None
                    else None
                ),
                timezone=r.timezone,
            )
            for r in rows
        ]


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


async def load_incidents(
    store: Store, window: Interval, component_ids: Iterable[str] | None = None
) -> list[Incident]:
    """Incidents overlapping ``window`` (open ones included), with updates, by ``opened``."""
    return await IncidentStore(store).incidents(window, component_ids)
