"""Incidents follow component states; maintenance windows put monitors in maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from probes.result import ErrorClass, Result
from sla_engine.incidents import Impact, IncidentStatus
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.alerting.incidents import IncidentManager, impact_of
from slamon.alerting.maintenance import MaintenanceTracker
from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.engine import Engine
from slamon.events import IncidentEventKind
from slamon.store.incidents import IncidentStore
from slamon.store.sql import Store
from slamon.store.writer import Writer

T0 = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def config(**extra: object) -> Config:
    return parse_config(
        {
            "confirmation": {"down_after": 1, "up_after": 1},
            "monitors": [
                {"id": "api-1", "type": "tcp", "target": "127.0.0.1:1"},
                {"id": "api-2", "type": "tcp", "target": "127.0.0.1:2"},
                {"id": "db", "type": "tcp", "target": "127.0.0.1:3"},
            ],
            "components": [
                {"id": "api", "name": "API", "monitors": ["api-1", "api-2"]},
                {"id": "database", "name": "Database", "monitors": ["db"]},
            ],
            **extra,
        },
        {},
    )


def check(monitor: str, state: State, at: datetime) -> Result:
    error = None if state is State.UP else ErrorClass.TIMEOUT
    return Result(monitor, "local", at, state, 0.01, error)


class Rig:
    def __init__(self, store: Store, cfg: Config) -> None:
        self.writer = Writer(store)
        # Checks every 20 minutes: the sparse results below are one stretch of evidence.
        self.engine = Engine(
            {m.id: cfg.policy_for(m) for m in cfg.monitors},
            self.writer,
            intervals={m.id: 1200 for m in cfg.monitors},
        )
        self.incidents = IncidentStore(store)
        self.manager = IncidentManager(cfg, self.engine, self.incidents)
        self.engine.listeners.append(self.manager.on_state_change)
        self.events: list[tuple[IncidentEventKind, str]] = []
        self.manager.listeners.append(lambda e: self.events.append((e.kind, e.incident.id)))

    async def feed(self, monitor: str, state: State, at: datetime) -> None:
        self.engine.ingest(check(monitor, state, at))
        await self.manager.drain()


def test_impact_rule() -> None:
    assert impact_of([State.DEGRADED]) is Impact.MINOR
    assert impact_of([State.DOWN, State.DEGRADED]) is Impact.MAJOR
    assert impact_of([State.DOWN, State.DOWN]) is Impact.CRITICAL
    assert impact_of([State.UP]) is Impact.NONE


async def test_incident_opens_widens_and_resolves(store: Store) -> None:
    rig = Rig(store, config())
    for m in ("api-1", "api-2", "db"):
        await rig.feed(m, State.UP, T0 - 10 * M)
    assert await rig.incidents.open_incidents() == []

    await rig.feed("api-1", State.DOWN, T0)  # the component follows its worst monitor
    [inc] = await rig.incidents.open_incidents()
    assert (inc.title, inc.impact, inc.opened, inc.component_ids) == (
        "API is down",
        Impact.MAJOR,
        T0,
        ("api",),
    )
    assert inc.status is IncidentStatus.INVESTIGATING and inc.acknowledged is None

    await rig.feed("db", State.DEGRADED, T0 + 2 * M)  # within the group window: joins
    await rig.feed("db", State.DOWN, T0 + 3 * M)
    [inc] = await rig.incidents.open_incidents()
    assert inc.component_ids == ("api", "database")
    assert inc.title == "API and Database are down"
    assert inc.impact is Impact.CRITICAL

    await rig.feed("api-1", State.UP, T0 + 5 * M)
    await rig.feed("db", State.UP, T0 + 9 * M)
    assert await rig.incidents.open_incidents() == []
    done = await rig.incidents.incident(inc.id)
    assert done is not None
    assert done.resolved == T0 + 9 * M
    assert done.impact is Impact.CRITICAL  # impact never falls
    assert done.acknowledged is None  # nobody responded
    assert [u.message for u in done.updates] == [
        "API is down. Detected by slamon.",
        "Database is degraded too.",
        "Database is down.",
        "API has recovered.",
        "Database has recovered; all affected components are operational again.",
    ]
    assert [k for k, _ in rig.events] == [
        IncidentEventKind.OPENED,
        IncidentEventKind.UPDATED,
        IncidentEventKind.UPDATED,
        IncidentEventKind.UPDATED,
        IncidentEventKind.RESOLVED,
    ]


async def test_late_outage_opens_a_new_incident(store: Store) -> None:
    rig = Rig(store, config())
    await rig.feed("api-1", State.DOWN, T0)
    await rig.feed("db", State.DOWN, T0 + 30 * M)  # past the group window
    assert len(await rig.incidents.open_incidents()) == 2


async def test_quorum_component_needs_enough_monitors(store: Store) -> None:
    cfg = parse_config(
        {
            "confirmation": {"down_after": 1, "up_after": 1},
            "monitors": [
                {"id": "a", "type": "tcp", "target": "127.0.0.1:1"},
                {"id": "b", "type": "tcp", "target": "127.0.0.1:2"},
            ],
            "components": [{"id": "edge", "name": "Edge", "monitors": ["a", "b"], "quorum": 2}],
        },
        {},
    )
    rig = Rig(store, cfg)
    await rig.feed("a", State.UP, T0)
    await rig.feed("b", State.UP, T0)
    await rig.feed("a", State.DOWN, T0 + M)
    [inc] = await rig.incidents.open_incidents()
    assert inc.impact is Impact.MINOR  # one of two down: degraded under the quorum
    await rig.feed("b", State.DOWN, T0 + 2 * M)
    [inc] = await rig.incidents.open_incidents()
    assert inc.impact is Impact.MAJOR


async def test_restart_picks_up_the_open_incident(store: Store) -> None:
    rig = Rig(store, config())
    await rig.feed("db", State.DOWN, T0)
    [inc] = await rig.incidents.open_incidents()

    again = Rig(store, config())  # a new process: engine states are unknown
    await again.manager.recover()
    await again.feed("db", State.DOWN, T0 + 5 * M)
    await again.feed("db", State.UP, T0 + 6 * M)
    done = await again.incidents.incident(inc.id)
    assert done is not None and done.resolved == T0 + 6 * M
    assert await again.incidents.open_incidents() == []


async def test_a_person_resolving_early_lets_the_next_outage_open_anew(store: Store) -> None:
    rig = Rig(store, config())
    await rig.feed("db", State.DOWN, T0)
    [inc] = await rig.incidents.open_incidents()
    await rig.incidents.resolve(inc.id, T0 + M, "False alarm", "alice")
    await rig.feed("db", State.UP, T0 + 2 * M)
    await rig.feed("db", State.DOWN, T0 + 3 * M)
    [new] = await rig.incidents.open_incidents()
    assert new.id != inc.id


async def test_maintenance_window_sets_and_clears_the_state(store: Store) -> None:
    cfg = config(
        maintenance=[
            {
                "id": "db-upgrade",
                "title": "DB upgrade",
                "components": ["database"],
                "start": (T0 + 10 * M).isoformat(),
                "end": (T0 + 40 * M).isoformat(),
            }
        ]
    )
    rig = Rig(store, cfg)
    tracker = MaintenanceTracker(cfg, store, rig.engine)
    await rig.feed("db", State.UP, T0)
    assert tracker.apply(T0 + 5 * M) == 60  # nothing within the reload interval
    assert tracker.apply(T0 + 9 * M + timedelta(seconds=30)) == 30  # until it starts

    tracker.apply(T0 + 10 * M)
    assert rig.engine.state("db") is State.MAINTENANCE
    assert rig.engine.state("api-1") is State.UNKNOWN
    await rig.feed("db", State.DOWN, T0 + 12 * M)  # work in progress: no incident
    await rig.manager.drain()
    assert await rig.incidents.open_incidents() == []
    assert rig.engine.state("db") is State.MAINTENANCE
    await rig.feed("db", State.UP, T0 + 30 * M)

    assert tracker.apply(T0 + 40 * M) == 60  # nothing ahead: the reload interval
    assert rig.engine.state("db") is State.UP
    await rig.writer.flush()
    history = (await store.intervals(Interval(T0 - M, T0 + 60 * M), ["db"]))["db"]
    assert [(i.state, i.start, i.end) for i in history] == [
        (State.UP, T0, T0 + 10 * M),
        (State.MAINTENANCE, T0 + 10 * M, T0 + 40 * M),
        (State.UP, T0 + 40 * M, None),
    ]


async def test_an_outage_left_over_from_maintenance_starts_when_it_ends(store: Store) -> None:
    cfg = config()
    rig = Rig(store, cfg)
    await rig.feed("db", State.UP, T0)
    rig.engine.enter_maintenance("db", T0 + M)
    await rig.feed("db", State.DOWN, T0 + 2 * M)
    rig.engine.leave_maintenance("db", T0 + 3 * M)
    await rig.manager.drain()
    [inc] = await rig.incidents.open_incidents()
    assert inc.opened == T0 + 3 * M
    rig.engine.stop(T0 + 4 * M)
    await rig.writer.flush()
    history = (await store.intervals(Interval(T0, T0 + 9 * M), ["db"]))["db"]
    assert [(i.state, i.start, i.end) for i in history] == [
        (State.UP, T0, T0 + M),
        (State.MAINTENANCE, T0 + M, T0 + 3 * M),
        # Stopped at 4 minutes: down as far as the last check (2 minutes) covers.
        (State.DOWN, T0 + 3 * M, T0 + 22 * M),
    ]
