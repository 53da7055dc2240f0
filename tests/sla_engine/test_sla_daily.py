"""Per-day totals agree with compute_availability on every day, across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

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
from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.accounting.daily import DayGrid, daily_totals, daily_totals_of_states
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import local_days
from sla_engine.time.states import State, StateInterval

PAGE_TERMS = AccountingTerms(
    accounting=Accounting.SECONDS,
    unknown=UnknownPolicy.EXCLUDE,
    maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
)
# Ten days around the end of DST in Europe/Oslo (25 October 2026 has 25 hours).
START = datetime(2026, 10, 20, 7, 30, tzinfo=UTC)
WINDOW = Interval(START, START + timedelta(days=10))

states = st.sampled_from([State.UP, State.DOWN, State.DEGRADED, State.MAINTENANCE])


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[StateInterval], list[Interval], datetime]:
    cuts = sorted(
        set(draw(st.lists(st.integers(0, 10 * 86400), min_size=2, max_size=30, unique=True)))
    )
    out = []
    for a, b in itertools.pairwise(cuts):
        if draw(st.booleans()) or not out:  # leave gaps: unknown time
            out.append(
                StateInterval(
                    "m",
                    draw(states),
                    START + timedelta(seconds=a),
                    START + timedelta(seconds=b),
                )
            )
    maint = [
        Interval(START + timedelta(seconds=a), START + timedelta(seconds=a + d))
        for a, d in draw(
            st.lists(st.tuples(st.integers(0, 10 * 86400), st.integers(1, 20000)), max_size=3)
        )
    ]
    now = START + timedelta(seconds=draw(st.integers(3600, 11 * 86400)))
    return out, maint, now


@settings(max_examples=60, deadline=None)
@given(histories())
def test_each_day_matches_compute_availability(
    history: tuple[list[StateInterval], list[Interval], datetime],
) -> None:
    intervals, maint, now = history
    timeline = timeline_from_states(intervals, WINDOW, now, maintenance=maint)
    days = local_days(WINDOW, "Europe/Oslo")
    totals = daily_totals(timeline, days)
    assert [t.day for t in totals] == [d for d, _ in days]
    for t, (_, span) in zip(totals, days, strict=True):
        ref = compute_availability(timeline, span, PAGE_TERMS)
        assert t.measured == ref.measured_until - span.start
        assert t.down == ref.downtime
        assert t.maintenance == ref.maintenance
        assert t.unknown == ref.unknown
        assert t.degraded == ref.degraded
        if ref.total == 0:
            assert t.ratio is None
        else:
            assert t.ratio == ref.ratio


def test_a_25_hour_day_is_one_day() -> None:
    window = Interval(
        datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)
    )
    down = StateInterval("m", State.DOWN, window.start, window.start + timedelta(hours=1))
    up = StateInterval("m", State.UP, down.end, window.end)
    (day,) = daily_totals(
        timeline_from_states([down, up], window, None), local_days(window, "Europe/Oslo")
    )
    assert day.measured == timedelta(hours=25)
    assert day.ratio == 1 - Fraction(1, 25)


@settings(max_examples=60, deadline=None)
@given(histories(), histories())
def test_combined_intervals_take_the_short_path(
    a: tuple[list[StateInterval], list[Interval], datetime],
    b: tuple[list[StateInterval], list[Interval], datetime],
) -> None:
    now = a[2]
    combined = combine_intervals(
        "c", {"m1": a[0], "m2": b[0]}, Interval(WINDOW.start, min(now, WINDOW.end)), component_state
    )
    days = local_days(WINDOW, "Europe/Oslo")
    slow = daily_totals(timeline_from_states(combined, WINDOW, now), days)
    fast = daily_totals_of_states(combined, DayGrid.of(days, min(now, WINDOW.end)))
    assert fast == slow
