"""Admin API for incidents, maintenance and alerts: ``/api/v1/admin/...`` (bearer token).

Bodies are JSON, validated with pydantic; a 400 lists every problem as
``field: what is wrong``. Times are ISO 8601 with an offset. Who did something is
the ``author`` (or ``by``) in the body: a token says a caller may act, not who it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from probes.durations import Duration
from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import Impact, IncidentStatus
from sla_engine.time.intervals import Interval
from sla_engine.time.recurrence import MaintenanceSchedule
from slamon.alerting.alerts import active_sorted
from slamon.config.common import MonitorId, format_loc
from slamon.events import incident_json
from slamon.store.incidents import IncidentNotFound, expand, load_schedules
from slamon.web.auth import Role, require
from slamon.web.bodies import BodyError, read_json

if TYPE_CHECKING:
    from slamon.alerting.operations import Operations

PREFIX = "/api/v1/admin"
_B = TypeVar("_B", bound=BaseModel)
OPS: web.AppKey[Operations] = web.AppKey("operations")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenBody(_Body):
    """A manual incident."""

    title: str = Field(min_length=1)
    components: list[str] = Field(min_length=1)
    impact: Impact = Impact.MINOR
    status: IncidentStatus = IncidentStatus.INVESTIGATING
    message: str = ""
    author: str = Field(min_length=1)
    opened: datetime | None = None


class UpdateBody(_Body):
    """A timeline entry."""

    status: IncidentStatus
    message: str = Field(min_length=1)
    author: str = Field(min_length=1)
    at: datetime | None = None


class AckBody(_Body):
    """An acknowledgement."""

    author: str = Field(min_length=1)
    at: datetime | None = None


class ResolveBody(_Body):
    """A manual resolve."""

    message: str = Field(min_length=1)
    author: str = Field(min_length=1)
    at: datetime | None = None


class ExclusionBody(_Body):
    """Exclude an incident from SLA accounting."""

    kind: ExclusionKind
    reason: str = Field(min_length=1)
    by: str = Field(min_length=1)


class MaintenanceBody(_Body):
    """A one-off (start, end) or recurring (cron, duration, timezone) window."""

    id: MonitorId
    title: str = Field(min_length=1)
    description: str = ""
    components: list[str] = Field(min_length=1)
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration: Duration | None = None
    timezone: str = "UTC"
    author: str = Field(min_length=1)


def _bad_request(errors: list[str]) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=web.json_response({"errors": errors}).text, content_type="application/json"
    )


async def _parse(request: web.Request, model: type[_B]) -> _B:
    try:
        data = await read_json(request)
    except BodyError as exc:
        raise _bad_request([str(exc)]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _bad_request(
            [f"{format_loc(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        ) from None


def _aware(value: datetime | None, field: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        raise _bad_request([f"{field}: give a time zone offset (Z or +01:00)"])
    return value.astimezone(UTC)


def _check_components(ops: Operations, components: list[str]) -> None:
    known = {c.id for c in ops.config.effective_components()}
    errors = [
        f"components[{i}]: no component has the id {c!r}"
        for i, c in enumerate(components)
        if c not in known
    ]
    if errors:
        raise _bad_request(errors)


def _guard(request: web.Request) -> Operations:
    ops = request.app[OPS]
    require(request, ops.config, Role.ADMIN)
    return ops


def _time_arg(request: web.Request, name: str, default: datetime) -> datetime:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad_request([f"{name}: not an ISO 8601 time"]) from None
    return _aware(value, name)


async def list_incidents(request: web.Request) -> web.Response:
    """Incidents overlapping ``from``..``to`` (default: the last 30 days), by opened."""
    ops = _guard(request)
    now = datetime.now(UTC)
    window = Interval(
        _time_arg(request, "from", now - timedelta(days=30)), _time_arg(request, "to", now)
    )
    components = request.query.getall("component", []) or None
    found = await ops.incident_store.incidents(window, components)
    return web.json_response({"incidents": [incident_json(i) for i in found]})


async def get_incident(request: web.Request) -> web.Response:
    """One incident with its timeline."""
    ops = _guard(request)
    incident = await ops.incident_store.incident(request.match_info["id"])
    if incident is None:
        raise web.HTTPNotFound(text="no such incident")
    body = incident_json(incident)
    body["acknowledged_by"] = await ops.incident_store.acknowledged_by(incident.id)
    return web.json_response(body)


async def open_incident(request: web.Request) -> web.Response:
    """Open an incident by hand (acknowledged by its author at once)."""
    ops = _guard(request)
    body = await _parse(request, OpenBody)
    _check_components(ops, body.components)
    if not body.status.open:
        raise _bad_request(["status: an incident opens with an open status"])
    incident = await ops.incident_store.open(
        title=body.title,
        component_ids=body.components,
        impact=body.impact,
        opened=_aware(body.opened, "opened"),
        message=body.message,
        author=body.author,
        status=body.status,
        automatic=False,
    )
    return web.json_response(incident_json(incident), status=201)


async def _act(request: web.Request, action: str) -> web.Response:
    ops = _guard(request)
    incident_id = request.match_info["id"]
    store = ops.incident_store
    try:
        if action == "update":
            u = await _parse(request, UpdateBody)
            incident = await store.add_update(
                incident_id, u.status, u.message, u.author, _aware(u.at, "at")
            )
        elif action == "acknowledge":
            a = await _parse(request, AckBody)
            incident = await store.acknowledge(incident_id, a.author, _aware(a.at, "at"))
        elif action == "resolve":
            r = await _parse(request, ResolveBody)
            incident = await store.resolve(incident_id, _aware(r.at, "at"), r.message, r.author)
        elif action == "exclude":
            e = await _parse(request, ExclusionBody)
            incident = await store.mark_excluded(incident_id, e.kind, e.reason, e.by)
        else:
            by = request.query.get("by", "").strip()
            if not by:
                raise _bad_request(["by: say who lifts the exclusion (?by=name)"])
            incident = await store.mark_excluded(incident_id, None, "", by)
    except IncidentNotFound:
        raise web.HTTPNotFound(text="no such incident") from None
    return web.json_response(incident_json(incident))


async def add_update(request: web.Request) -> web.Response:
    """Append a timeline entry (the first by a person acknowledges)."""
    return await _act(request, "update")


async def acknowledge(request: web.Request) -> web.Response:
    """Acknowledge explicitly."""
    return await _act(request, "acknowledge")


async def resolve(request: web.Request) -> web.Response:
    """Resolve by hand."""
    return await _act(request, "resolve")


async def exclude(request: web.Request) -> web.Response:
    """Mark the incident excluded from SLA accounting, with a reason."""
    return await _act(request, "exclude")


async def lift_exclusion(request: web.Request) -> web.Response:
    """Lift the exclusion mark (``?by=name``)."""
    return await _act(request, "lift")


def _schedule_json(s: MaintenanceSchedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "description": s.description,
        "components": list(s.component_ids),
        "start": s.start.isoformat() if s.start else None,
        "end": s.end.isoformat() if s.end else None,
        "cron": s.cron,
        "duration_seconds": s.duration.total_seconds() if s.duration else None,
        "timezone": s.timezone,
    }


async def list_maintenance(request: web.Request) -> web.Response:
    """Schedules (config and stored) and their occurrences from ``from`` to ``to``."""
    ops = _guard(request)
    now = datetime.now(UTC)
    window = Interval(
        _time_arg(request, "from", now), _time_arg(request, "to", now + timedelta(days=30))
    )
    schedules = await load_schedules(ops.config, ops.store)
    windows = expand(schedules, window)
    return web.json_response(
        {
            "schedules": [_schedule_json(s) for s in schedules],
            "windows": [
                {
                    "id": w.id,
                    "title": w.title,
                    "components": list(w.component_ids),
                    "start": w.start.isoformat(),
                    "end": w.end.isoformat(),
                    "status": w.status(now).value,
                }
                for w in windows
            ],
        }
    )


async def add_maintenance(request: web.Request) -> web.Response:
    """Store a maintenance window; the tracker applies it at once."""
    ops = _guard(request)
    body = await _parse(request, MaintenanceBody)
    _check_components(ops, body.components)
    if body.id in {m.id for m in ops.config.maintenance}:
        raise _bad_request([f"id: {body.id!r} is a configured maintenance"])
    try:
        schedule = MaintenanceSchedule(
            id=body.id,
            title=body.title,
            description=body.description,
            component_ids=tuple(body.components),
            start=_aware(body.start, "start") if body.start else None,
            end=_aware(body.end, "end") if body.end else None,
            cron=body.cron,
            duration=timedelta(seconds=body.duration) if body.duration is not None else None,
            timezone=body.timezone,
        )
    except ValueError as exc:
        raise _bad_request([str(exc)]) from None
    if any(s.id == body.id for s in await ops.incident_store.maintenance()):
        raise web.HTTPConflict(text=f"maintenance {body.id!r} exists")
    await ops.incident_store.add_maintenance(schedule, body.author, datetime.now(UTC))
    ops.maintenance.changed()
    return web.json_response(_schedule_json(schedule), status=201)


async def delete_maintenance(request: web.Request) -> web.Response:
    """Remove a stored maintenance window (configured ones live in the config file)."""
    ops = _guard(request)
    if not await ops.incident_store.delete_maintenance(request.match_info["id"]):
        raise web.HTTPNotFound(text="no such stored maintenance")
    ops.maintenance.changed()
    return web.Response(status=204)


async def list_alerts(request: web.Request) -> web.Response:
    """Alerts firing now."""
    ops = _guard(request)
    return web.json_response(
        {
            "alerts": [
                {
                    "labels": dict(a.labels),
                    "annotations": dict(a.annotations),
                    "startsAt": a.starts_at.isoformat() if a.starts_at else None,
                    "fingerprint": a.fingerprint,
                }
                for a in active_sorted(ops.alerts.active.values())
            ]
        }
    )


def add_admin_routes(app: web.Application, ops: Operations) -> None:
    """Register the admin routes, serving ``ops``."""
    app[OPS] = ops
    r = app.router
    r.add_get(f"{PREFIX}/incidents", list_incidents)
    r.add_post(f"{PREFIX}/incidents", open_incident)
    r.add_get(f"{PREFIX}/incidents/{{id}}", get_incident)
    r.add_post(f"{PREFIX}/incidents/{{id}}/updates", add_update)
    r.add_post(f"{PREFIX}/incidents/{{id}}/acknowledge", acknowledge)
    r.add_post(f"{PREFIX}/incidents/{{id}}/resolve", resolve)
    r.add_put(f"{PREFIX}/incidents/{{id}}/exclusion", exclude)
    r.add_delete(f"{PREFIX}/incidents/{{id}}/exclusion", lift_exclusion)
    r.add_get(f"{PREFIX}/maintenance", list_maintenance)
    r.add_post(f"{PREFIX}/maintenance", add_maintenance)
    r.add_delete(f"{PREFIX}/maintenance/{{id}}", delete_maintenance)
    r.add_get(f"{PREFIX}/alerts", list_alerts)
