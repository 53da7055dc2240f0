"""Incidents and stored maintenance: one suite against SQLite and PostgreSQL."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import Impact, IncidentStatus
from sla_engine.time.intervals import Interval
from sla_engine.time.recurrence import MaintenanceSchedule
from slamon.config.load import parse_config
from slamon.store.incidents import IncidentNotFound, IncidentStore, load_incidents, load_maintenance
from slamon.store.sql import Store

T0 = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


async def test_open_update_ack_resolve(store: Store) -> None:
    incidents = IncidentStore(store)
    inc = await incidents.open(
        title="API is down", component_ids=["api"], impact=Impact.MAJOR, opened=T0
    )
    assert inc.status is IncidentStatus.INVESTIGATING
    assert inc.acknowledged is None and inc.resolved is None
    assert inc.automatic
    assert [u.author for u in inc.updates] == ["slamon"]

    # An automatic update does not acknowledge; the first human one does.
    inc = await incidents.add_update(
        inc.id, IncidentStatus.INVESTIGATING, "Now also slow", "slamon", T0 + M, human=False
    )
    assert inc.acknowledged is None
    inc = await incidents.add_update(
        inc.id, IncidentStatus.IDENTIFIED, "Bad deploy", "alice", T0 + 7 * M
    )
    assert inc.acknowledged == T0 + 7 * M
    assert await incidents.acknowledged_by(inc.id) == "alice"
    await incidents.acknowledge(inc.id, "bob", T0 + 9 * M)  # later: changes nothing
    assert (await incidents.incident(inc.id)).acknowledged == T0 + 7 * M  # type: ignore[union-attr]

    inc = await incidents.resolve(inc.id, T0 + 20 * M, "Rolled back", "alice")
    assert inc.status is IncidentStatus.RESOLVED
    assert inc.resolved == T0 + 20 * M
    again = await incidents.resolve(inc.id, T0 + 30 * M, "again", "alice")
    assert again.resolved == T0 + 20 * M
    inc = await incidents.add_update(
        inc.id, IncidentStatus.POSTMORTEM, "Write-up linked", "alice", T0 + 60 * M
    )
    assert inc.resolved == T0 + 20 * M
    assert [u.status for u in inc.updates] == [
        IncidentStatus.INVESTIGATING,
        IncidentStatus.INVESTIGATING,
        IncidentStatus.IDENTIFIED,
        IncidentStatus.RESOLVED,
        IncidentStatus.POSTMORTEM,
    ]
    assert all(u.at.tzinfo is not None for u in inc.updates)


async def test_explicit_ack_and_reopen(store: Store) -> None:
    incidents = IncidentStore(store)
    inc = await incidents.open(
        title="DB degraded", component_ids=["db"], impact=Impact.MINOR, opened=T0
    )
    inc = await incidents.acknowledge(inc.id, "carol", T0 - M)  # before opened: moved
    assert inc.acknowledged == T0
    inc = await incidents.resolve(inc.id, T0 + 5 * M, "fine", "slamon", human=False)
    inc = await incidents.add_update(
        inc.id, IncidentStatus.MONITORING, "It came back", "carol", T0 + 6 * M
    )
    assert inc.resolved is None and inc.status is IncidentStatus.MONITORING
    with pytest.raises(IncidentNotFound):
        await incidents.add_update("nope", IncidentStatus.IDENTIFIED, "x", "y", T0)
    with pytest.raises(ValueError):
        await incidents.add_update(inc.id, IncidentStatus.IDENTIFIED, " ", "y", T0)


async def test_exclusion_is_kept_with_reason_and_author(store: Store) -> None:
    incidents = IncidentStore(store)
    inc = await incidents.open(
        title="Outage", component_ids=["api", "web"], impact=Impact.CRITICAL, opened=T0
    )
    with pytest.raises(ValueError):
        await incidents.mark_excluded(inc.id, ExclusionKind.FORCE_MAJEURE, "  ", "dave")
    inc = await incidents.mark_excluded(
        inc.id, ExclusionKind.CUSTOMER_CAUSED, "Customer flooded us", "dave", T0 + M
    )
    assert inc.excluded is ExclusionKind.CUSTOMER_CAUSED
    assert inc.exclusion_reason == "Customer flooded us"
    assert inc.excluded_by == "dave"
    inc = await incidents.mark_excluded(inc.id, None, "", "erin")
    assert inc.excluded is None and inc.excluded_by == "erin"


async def test_window_queries(store: Store) -> None:
    incidents = IncidentStore(store)
    a = await incidents.open(title="a", component_ids=["api"], impact=Impact.MAJOR, opened=T0)
    await incidents.resolve(a.id, T0 + 10 * M, "ok", "slamon", human=False)
    b = await incidents.open(
        title="b", component_ids=["db"], impact=Impact.MINOR, opened=T0 + 30 * M
    )
    c = await incidents.open(
        title="c", component_ids=["api", "db"], impact=Impact.CRITICAL, opened=T0 + 60 * M
    )

    def ids(found: list) -> list[str]:  # type: ignore[type-arg]
        return [i.title for i in found]

    every = Interval(T0 - M, T0 + 120 * M)
    assert ids(await load_incidents(store, every)) == ["a", "b", "c"]
    assert ids(await load_incidents(store, every, ["api"])) == ["a", "c"]
    assert ids(await load_incidents(store, every, [])) == []
    # Resolved before the window: left out; open ones always overlap a later window.
    later = Interval(T0 + 10 * M, T0 + 200 * M)
    assert ids(await load_incidents(store, later)) == ["b", "c"]
    assert ids(await load_incidents(store, Interval(T0 - 60 * M, T0))) == []
    assert [i.id for i in await incidents.open_incidents()] == [b.id, c.id]
    found = await incidents.incident(c.id)
    assert found is not None and found.component_ids == ("api", "db")
    assert await incidents.incident("missing") is None
    widened = await incidents.set_fields(b.id, impact=Impact.MAJOR, component_ids=["db", "web"])
    assert widened.impact is Impact.MAJOR and widened.component_ids == ("db", "web")


async def test_maintenance_from_config_and_store(store: Store) -> None:
    config = parse_config(
        tomllib.loads(
            """
            [[monitors]]
            id = "api"
            type = "tcp"
            target = "127.0.0.1:1"

            [[monitors]]
            id = "db"
            type = "tcp"
            target = "127.0.0.1:2"

            [[maintenance]]
            id = "nightly"
            title = "Nightly vacuum"
            components = ["db"]
            cron = "0 2 * * *"
            duration = "30m"
            timezone = "Europe/Oslo"

            [[maintenance]]
            id = "upgrade"
            title = "Kernel upgrade"
            components = ["api"]
            start = 2026-10-05T22:00:00   # no offset: read in the timezone
            end = 2026-10-05T23:00:00
            timezone = "Europe/Oslo"
            """
        ),
        {},
    )
    incidents = IncidentStore(store)
    await incidents.add_maintenance(
        MaintenanceSchedule(
            "db-move", "Moving the DB", "New hardware", ("db",), start=T0, end=T0 + 60 * M
        ),
        "alice",
        T0 - 60 * M,
    )
    await incidents.add_maintenance(
        MaintenanceSchedule(
            "weekly", "Weekly", "", ("api",), cron="0 4 * * 1", duration=timedelta(hours=1)
        ),
        "alice",
        datetime(2026, 10, 1, tzinfo=UTC),
    )
    window = Interval(datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 10, 7, tzinfo=UTC))
    found = await load_maintenance(config, store, window)
    assert [(w.id, w.start.isoformat(), w.component_ids) for w in found] == [
        ("nightly@2026-10-05T00:00:00Z", "2026-10-05T00:00:00+00:00", ("db",)),
        ("weekly@2026-10-05T04:00:00Z", "2026-10-05T04:00:00+00:00", ("api",)),
        ("db-move", "2026-10-05T10:00:00+00:00", ("db",)),
        ("upgrade", "2026-10-05T20:00:00+00:00", ("api",)),
        ("nightly@2026-10-06T00:00:00Z", "2026-10-06T00:00:00+00:00", ("db",)),
    ]
    assert await incidents.delete_maintenance("db-move")
    assert not await incidents.delete_maintenance("db-move")
    assert "db-move" not in [w.id for w in await load_maintenance(config, store, window)]
