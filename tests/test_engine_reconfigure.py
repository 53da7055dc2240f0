"""Engine.reconfigure: what a reload does to the engine, against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from probes.result import Result
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.engine import Engine
from slamon.events import StateChange
from slamon.store.sql import Store
from slamon.store.writer import Writer

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
POLICY = ConfirmPolicy(down_after=2, up_after=1)


def loc(ids: list[str]) -> dict[str, list[str]]:
    return {m: ["local"] for m in ids}


async def test_reconfigure_keeps_the_unchanged_and_closes_the_removed(store: Store) -> None:
    writer = Writer(store)
    engine = Engine(
        dict.fromkeys(["keep", "drop"], POLICY), writer, locations=loc(["keep", "drop"])
    )
    heard: list[StateChange] = []
    engine.listeners.append(heard.append)
    for i in range(2):
        at = T0 + timedelta(seconds=i)
        engine.ingest(Result("keep", "local", at, State.UP, 0.01))
        engine.ingest(Result("drop", "local", at, State.DOWN, 0.01))
    # One failed check of "keep" counts towards down_after = 2: it must survive.
    engine.ingest(Result("keep", "local", T0 + timedelta(seconds=2), State.DOWN, 0.01))
    since = engine.state_since["keep"]
    at = T0 + timedelta(seconds=5)
    removed = engine.reconfigure(
        {"keep": POLICY, "new": POLICY},
        locations=loc(["keep", "new"]),
        quorum={},
        intervals={"keep": 30.0, "new": 30.0},
        at=at,
    )
    assert removed == {"drop"}
    assert engine.state("keep") is State.UP and engine.state_since["keep"] == since
    assert engine.state("new") is State.UNKNOWN and engine.state("drop") is State.UNKNOWN
    assert ("drop", "local") not in engine.latest
    assert heard[-1] == StateChange("drop", State.DOWN, State.UNKNOWN, at, None)
    # The confirmation run of "keep" went on: a second failure confirms down.
    engine.ingest(Result("keep", "local", T0 + timedelta(seconds=6), State.DOWN, 0.01))
    assert engine.state("keep") is State.DOWN
    assert engine.state_since["keep"] == T0 + timedelta(seconds=2)
    await writer.flush()
    history = await store.intervals(Interval(T0, T0 + timedelta(hours=1)))
    assert [(i.state, i.start, i.end) for i in history["drop"]] == [(State.DOWN, T0, at)]
    assert [i.state for i in history["keep"]] == [State.UP, State.DOWN]
    # Results of a removed monitor (a check that was in flight) are counted, not stored.
    engine.ingest(Result("drop", "local", T0 + timedelta(seconds=7), State.DOWN, 0.01))
    assert engine.unknown_monitor == 1
