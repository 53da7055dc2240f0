"""Availability from time per state equals the exact per-interval path, and the store sums right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
    compute_availability,
    timeline_from_states,
)
from sla_engine.accounting.durations import availability_from_durations, durations_of
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State, StateInterval
from slamon.store.sql import IntervalChange, Store
from slamon.store.writer import Writer

T0 = datetime(2026, 10, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


@st.composite
def one_monitor(draw: st.DrawFn) -> list[StateInterval]:
    """Disjoint, sorted intervals of one monitor with gaps; the last one maybe open."""
    out: list[StateInterval] = []
    at = T0 + draw(st.integers(-(10**9), 10**9)) * US
    for _ in range(draw(st.integers(0, 12))):
        at += draw(st.integers(0, 3 * 10**9)) * US  # a gap (no data) or none
        end = at + draw(st.integers(1, 5 * 10**9)) * US
        out.append(StateInterval("m", draw(st.sampled_from(list(State))), at, end))
        at = end
    if out and draw(st.booleans()):
        last = out[-1]
        out[-1] = StateInterval("m", last.state, last.start, None)
    return out


terms = st.builds(
    AccountingTerms,
    accounting=st.just(Accounting.SECONDS),
    unknown=st.sampled_from(list(UnknownPolicy)),
    maintenance=st.sampled_from(list(MaintenancePolicy)),
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[Interval, datetime | None]:
    start = T0 + draw(st.integers(-2 * 10**9, 2 * 10**9)) * US
    end = start + draw(st.integers(0, 40 * 10**9)) * US
    now = None
    if draw(st.booleans()):
        now = start + draw(st.integers(-(10**9), 50 * 10**9)) * US
    return Interval(start, end), now


@settings(deadline=None, max_examples=400)
@given(one_monitor(), windows(), terms)
def test_fast_path_equals_the_per_interval_path(
    spans: list[StateInterval], window_now: tuple[Interval, datetime | None], t: AccountingTerms
) -> None:
    window, now = window_now
    slow = compute_availability(timeline_from_states(spans, window, now), window, t)
    fast = availability_from_durations(durations_of(spans, window, now), window, t, now)
    assert fast.measured_until == slow.measured_until
    assert (fast.total, fast.bad) == (slow.total, slow.bad)
    assert fast.ratio == slow.ratio  # exact Fractions
    assert fast.downtime == slow.downtime
    assert fast.degraded == slow.degraded
    assert fast.maintenance == slow.maintenance
    assert fast.unknown == slow.unknown
    assert fast.removed == slow.removed


def test_minute_rules_are_refused() -> None:
    t = AccountingTerms(accounting=Accounting.MINUTES_ANY, unknown=UnknownPolicy.UP)
    with pytest.raises(ValueError, match="seconds accounting"):
        availability_from_durations({}, Interval(T0, T0 + timedelta(hours=1)), t)


def test_overlapping_durations_are_refused() -> None:
    t = AccountingTerms(accounting=Accounting.SECONDS, unknown=UnknownPolicy.UP)
    hour = Interval(T0, T0 + timedelta(hours=1))
    with pytest.raises(ValueError, match="more than the measured window"):
        availability_from_durations(
            {State.UP: timedelta(hours=1), State.DOWN: timedelta(seconds=1)}, hour, t
        )


async def test_store_sums_durations_in_sql_as_the_intervals_say(store: Store) -> None:
    writer = Writer(store)
    # api: up, down 15 min, up (open); web: up, maintenance 2 h, unknown, up (open).
    for change in [
        IntervalChange("api", State.UP, T0 - timedelta(days=3)),
        IntervalChange("api", State.DOWN, T0 + timedelta(minutes=10, microseconds=7)),
        IntervalChange("api", State.UP, T0 + timedelta(minutes=25)),
        IntervalChange("web", State.UP, T0 + timedelta(hours=1)),
        IntervalChange("web", State.MAINTENANCE, T0 + timedelta(hours=5)),
        IntervalChange("web", State.UNKNOWN, T0 + timedelta(hours=7)),
        IntervalChange("web", State.UP, T0 + timedelta(hours=7, minutes=3)),
    ]:
        writer.add_change(change)
    await writer.flush()
    cases = [
        (Interval(T0, T0 + timedelta(days=31)), None),  # open intervals run to the end
        (Interval(T0, T0 + timedelta(days=31)), T0 + timedelta(hours=6)),  # cut at now
        (Interval(T0 + timedelta(minutes=20), T0 + timedelta(hours=6)), None),  # mid-span
        (Interval(T0 + timedelta(minutes=25), T0 + timedelta(minutes=25)), None),  # empty
        (Interval(T0 - timedelta(days=9), T0 - timedelta(days=5)), None),  # before any data
    ]
    for window, now in cases:
        summed = await store.state_durations(window, ["api", "web", "other"], now)
        spans = await store.intervals(window, ["api", "web", "other"])
        expected = {
            m: {s: d for s, d in durations_of(ivs, window, now).items() if d}
            for m, ivs in spans.items()
        }
        got = {m: {s: d for s, d in by.items() if d} for m, by in summed.items()}
        assert {m: v for m, v in got.items() if v} == {m: v for m, v in expected.items() if v}
    whole = await store.state_durations(Interval(T0, T0 + timedelta(days=1)))
    assert whole["api"][State.DOWN] == timedelta(minutes=15) - timedelta(microseconds=7)
    assert whole["web"][State.MAINTENANCE] == timedelta(hours=2)
