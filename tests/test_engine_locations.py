"""The engine across locations: quorum, silence, clock correction, no going backwards."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from probes.result import Result
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.states import State
from slamon.engine import Engine
from slamon.store.sql import IntervalChange, IntervalRevision, Store
from slamon.store.writer import Writer

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
_ids = itertools.count()


def res(location: str, seconds: float, state: State, monitor: str = "api") -> Result:
    return Result(
        monitor, location, T0 + timedelta(seconds=seconds), state, 0.1, id=f"r{next(_ids)}"
    )


@pytest.fixture
def writer(tmp_path: Path) -> Writer:
    return Writer(Store.from_url(f"sqlite+aiosqlite:///{tmp_path}/e.db"))


def engine(writer: Writer, locations: list[str], quorum: int | None = None) -> Engine:
    return Engine(
        {"api": ConfirmPolicy(down_after=2, up_after=1)},
        writer,
        locations={"api": locations},
        quorum={"api": quorum} if quorum else None,
        intervals={"api": 10},
        silent_after=3,
        clock=lambda: T0,
    )


def changes(writer: Writer) -> list[tuple[State, datetime]]:
    return [(c.state, c.at) for c in writer._changes if isinstance(c, IntervalChange)]


def test_one_location_down_is_not_an_outage_two_are(writer: Writer) -> None:
    e = engine(writer, ["a", "b", "c"])
    for loc in "abc":
        e.ingest(res(loc, 0, State.UP))
    assert e.state("api") is State.UP
    e.ingest(res("a", 10, State.DOWN))
    e.ingest(res("a", 20, State.DOWN))
    assert e.location_views("api")[0].state is State.DOWN
    assert e.state("api") is State.UP
    e.ingest(res("b", 12, State.DOWN))
    e.ingest(res("b", 22, State.DOWN))
    assert e.state("api") is State.DOWN
    # Down from when the second location's confirming run began: both were down then.
    assert changes(writer)[-1] == (State.DOWN, T0 + timedelta(seconds=12))


def test_a_silent_location_becomes_unknown_and_never_decides(writer: Writer) -> None:
    e = engine(writer, ["a", "b"])
    now = T0
    e.clock = lambda: now
    for loc in "ab":
        e.ingest(res(loc, 0, State.UP))
    assert e.state("api") is State.UP
    # b keeps reporting; a goes quiet.
    for t in (10, 20, 30):
        now = T0 + timedelta(seconds=t)
        e.ingest(res("b", t, State.UP))
        e.tick(now)
    now = T0 + timedelta(seconds=31)
    e.tick(now)
    assert [v.state for v in e.location_views("api")] == [State.UNKNOWN, State.UP]
    assert e.state("api") is State.UP  # K = 2 of 2: one up is enough, a down needs both
    # Now b sees the service down: a lone location is never down on its own.
    for t in (40, 50):
        now = T0 + timedelta(seconds=t)
        e.ingest(res("b", t, State.DOWN))
    assert e.state("api") is State.UNKNOWN
    assert changes(writer)[-1] == (State.UNKNOWN, T0 + timedelta(seconds=40))
    assert e.silenced == 1


def test_a_repeat_is_no_evidence_a_late_result_is_put_in_its_place(writer: Writer) -> None:
    e = engine(writer, ["a"])
    first = res("a", 0, State.DOWN)
    e.ingest(first)
    e.ingest(first)  # redelivered
    assert e.state("api") is State.UNKNOWN  # one failure, not two
    assert e.too_late == 1
    e.ingest(res("a", -5, State.DOWN))  # measured before, arrived after
    # Two failures in a row (by their own times): down from the first of them.
    assert e.state("api") is State.DOWN
    assert changes(writer) == [(State.DOWN, T0 - timedelta(seconds=5))]
    assert e.out_of_order == 2
    assert len(writer._results) == 3  # all go to the store, which dedups by id


def test_history_before_the_floor_is_kept_late_evidence_after_it_revises(
    writer: Writer,
) -> None:
    e = engine(writer, ["a", "b"], quorum=2)
    e.floor["api"] = T0 + timedelta(seconds=100)  # the store already has history to here
    e.ingest(res("a", 90, State.UP))
    e.ingest(res("a", 100, State.UP))
    assert changes(writer) == [(State.UP, T0 + timedelta(seconds=100))]
    e.ingest(res("a", 110, State.DOWN))
    e.ingest(res("a", 120, State.DOWN))
    # a alone cannot decide (b has said nothing yet): unknown.
    assert changes(writer)[-1] == (State.UNKNOWN, T0 + timedelta(seconds=110))
    # b's results come after a's: b was down from 105, so from 110 both were.
    e.ingest(res("b", 105, State.DOWN))
    e.ingest(res("b", 115, State.DOWN))
    assert e.state("api") is State.DOWN
    revision = writer._changes[-1]
    assert isinstance(revision, IntervalRevision)
    assert revision.since == T0 + timedelta(seconds=110)
    assert revision.points == ((T0 + timedelta(seconds=110), State.DOWN),)
    assert e.history("api") == [
        (T0 + timedelta(seconds=100), State.UP),
        (T0 + timedelta(seconds=110), State.DOWN),
    ]
    assert e.revised == 1


def test_correction_moves_times_onto_the_engine_clock(writer: Writer) -> None:
    e = engine(writer, ["a"])
    e.ingest(res("a", 0, State.DOWN), correction=90)
    e.ingest(res("a", 10, State.DOWN), correction=90)
    assert changes(writer) == [(State.DOWN, T0 + timedelta(seconds=90))]
    assert writer._results[0].at == T0 + timedelta(seconds=90)
    assert e.location_views("api")[0].last_result_at == T0 + timedelta(seconds=100)


def test_stop_makes_every_location_silent_after_its_last_check(writer: Writer) -> None:
    e = engine(writer, ["a"])
    e.ingest(res("a", 0, State.UP))
    e.stop(T0 + timedelta(seconds=5))
    assert e.state("api") is State.UNKNOWN
    # What the last check (at 0, every 10 s) covers is up; after that nothing is known.
    assert changes(writer)[-1] == (State.UNKNOWN, T0 + timedelta(seconds=10))
    assert e.location_views("api")[0].state is State.UNKNOWN
    # Provisional: a check within the silence limit says the monitor went on.
    e.ingest(res("a", 20, State.UP))
    assert e.state("api") is State.UP
    assert e.history("api") == [(T0, State.UP)]


def test_a_location_that_is_not_the_monitors_has_no_say(writer: Writer) -> None:
    e = engine(writer, ["a"])
    e.ingest(res("x", 0, State.DOWN))
    e.ingest(res("x", 10, State.DOWN))
    assert e.state("api") is State.UNKNOWN
    assert e.foreign_location == 2
    assert len(writer._results) == 2  # stored as evidence all the same
    assert [v.location for v in e.location_views("api")] == ["a"]


def test_fast_metrics_text_matches_the_exposition_with_location_metrics(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from slamon.app import build_runtime
    from slamon.config.load import parse_config

    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/m.db"},
            "bus": {"kind": "mqtt", "locations": ["oslo", "paris"]},
            "monitors": [{"id": "api", "type": "tcp", "target": "127.0.0.1:9"}],
        },
        {},
    )
    runtime = build_runtime(config)
    runtime.engine.ingest(res("oslo", 0, State.UP))
    runtime.engine.ingest(res("oslo", 10, State.UP))
    assert runtime.live is not None
    fast = runtime.live.render_text(runtime.registry)
    # Same families and samples (main registers OperationsCollector after the
    # LiveCollector, so the order of families differs; Prometheus does not mind).
    assert sorted(fast.splitlines()) == sorted(generate_latest(runtime.registry).splitlines())
    assert b'slamon_location_state{location="oslo",monitor="api",state="up"} 1.0' in fast


def test_location_families_render_off_the_loop_byte_for_byte(tmp_path: Path) -> None:
    from prometheus_client import generate_latest

    from slamon.app import build_runtime
    from slamon.config.load import parse_config

    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/m.db"},
            "bus": {"kind": "mqtt", "locations": ["oslo", "paris"]},
            "monitors": [
                {"id": "api", "type": "tcp", "target": "127.0.0.1:9"},
                {"id": "db", "type": "tcp", "target": "127.0.0.1:9", "locations": ["paris"]},
            ],
        },
        {},
    )
    runtime = build_runtime(config)
    runtime.engine.ingest(res("oslo", 0, State.UP))
    runtime.engine.ingest(res("oslo", 10, State.DOWN))
    assert runtime.live is not None
    around = runtime.live.render_around(runtime.registry)
    # The per-monitor location families are left to render_own (run in a thread).
    assert b"slamon_location_state{" not in around
    assert b"slamon_monitor_quorum{" not in around
    fast = runtime.live.render_own(around)
    assert fast == generate_latest(runtime.registry)
    assert b'slamon_location_state{location="paris",monitor="db",state="unknown"} 1.0' in fast
    assert b'slamon_monitor_quorum{monitor="api"} 2.0' in fast
