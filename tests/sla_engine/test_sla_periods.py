"""Calendar periods in a contract's time zone, rolling windows and local days."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.time.intervals import Interval
from sla_engine.time.periods import (
    Period,
    PeriodKind,
    calendar_month,
    calendar_quarter,
    local_days,
    next_period,
    parse_period,
    period_containing,
    previous_period,
    rolling_window,
)

HOUR = 3600

# (spec, tz, hours, first local instant as UTC)
PERIODS = [
    ("2026-10", "Europe/Oslo", 745, datetime(2026, 9, 30, 22, tzinfo=UTC)),
    ("2026-03", "Europe/Oslo", 743, datetime(2026, 2, 28, 23, tzinfo=UTC)),
    ("2026-06", "Europe/Oslo", 720, datetime(2026, 5, 31, 22, tzinfo=UTC)),
    ("2026-03", "America/New_York", 743, datetime(2026, 3, 1, 5, tzinfo=UTC)),
    ("2026-11", "America/New_York", 721, datetime(2026, 11, 1, 4, tzinfo=UTC)),
    ("2026-02", "UTC", 672, datetime(2026, 2, 1, tzinfo=UTC)),
    ("2028-02", "UTC", 696, datetime(2028, 2, 1, tzinfo=UTC)),
    ("2026-Q1", "Europe/Oslo", 90 * 24 - 1, datetime(2025, 12, 31, 23, tzinfo=UTC)),
    ("2026-Q2", "Europe/Oslo", 91 * 24, datetime(2026, 3, 31, 22, tzinfo=UTC)),
    ("2026-Q4", "Europe/Oslo", 92 * 24 + 1, datetime(2026, 9, 30, 22, tzinfo=UTC)),
    ("2026-Q4", "America/New_York", 92 * 24 + 1, datetime(2026, 10, 1, 4, tzinfo=UTC)),
    ("2026-Q3", "Asia/Kolkata", 92 * 24, datetime(2026, 6, 30, 18, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("spec", "tz", "hours", "start"), PERIODS, ids=[f"{p[0]}-{p[1]}" for p in PERIODS]
)
def test_period_length_and_start(spec: str, tz: str, hours: int, start: datetime) -> None:
    period = parse_period(spec, tz)
    assert period.label == spec
    assert period.total_seconds == hours * HOUR
    assert period.start == start
    assert period.interval == Interval(period.start, period.end)
    assert period.local_start.hour == 0
    assert period.local_end.hour == 0
    assert period.start.tzinfo is UTC


def test_month_and_quarter_constructors_match_parse() -> None:
    assert calendar_month(2026, 10, "Europe/Oslo") == parse_period("2026-10", "Europe/Oslo")
    assert calendar_quarter(2026, 4, "Europe/Oslo") == parse_period("2026-Q4", "Europe/Oslo")
    assert parse_period("2026-Q4", "UTC").kind is PeriodKind.QUARTER
    assert parse_period("2026-04", "UTC").kind is PeriodKind.MONTH


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("2026-13", "month must be within 1..12"),
        ("2026-00", "month must be within 1..12"),
        ("2026-Q5", "quarter must be within 1..4"),
        ("2026-q4", "neither a month like '2026-10' nor a quarter like '2026-Q4'"),
        ("2026/10", "neither a month"),
        ("26-10", "neither a month"),
        ("2026-1", "neither a month"),
        ("", "neither a month"),
    ],
    ids=["month-13", "month-0", "q5", "lowercase-q", "slash", "short-year", "one-digit", "empty"],
)
def test_parse_period_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(spec, "UTC")


def test_unknown_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        calendar_month(2026, 1, "Mars/Olympus")


def test_period_validates_its_bounds() -> None:
    good = calendar_month(2026, 10, "Europe/Oslo")
    with pytest.raises(ValueError, match="is \\["):
        Period("2026-10", "UTC", good.start, good.end)
    with pytest.raises(ValueError, match="must be a UTC datetime"):
        Period("2026-10", "Europe/Oslo", good.local_start, good.end)
    with pytest.raises(ValueError, match="must be a UTC datetime"):
        Period("2026-10", "Europe/Oslo", good.start.replace(tzinfo=None), good.end)


@pytest.mark.parametrize(
    ("spec", "before", "after"),
    [
        ("2026-01", "2025-12", "2026-02"),
        ("2026-12", "2026-11", "2027-01"),
        ("2026-Q1", "2025-Q4", "2026-Q2"),
        ("2026-Q4", "2026-Q3", "2027-Q1"),
    ],
    ids=["january", "december", "q1", "q4"],
)
def test_previous_and_next(spec: str, before: str, after: str) -> None:
    period = parse_period(spec, "Europe/Oslo")
    assert previous_period(period).label == before
    assert next_period(period).label == after
    assert previous_period(period).end == period.start
    assert next_period(period).start == period.end
    assert previous_period(period).tz == "Europe/Oslo"


@pytest.mark.parametrize(
    ("instant", "kind", "label"),
    [
        (datetime(2026, 9, 30, 22, tzinfo=UTC), PeriodKind.MONTH, "2026-10"),
        (datetime(2026, 9, 30, 21, 59, 59, tzinfo=UTC), PeriodKind.MONTH, "2026-09"),
        (datetime(2026, 9, 30, 22, tzinfo=UTC), PeriodKind.QUARTER, "2026-Q4"),
        (datetime(2026, 12, 31, 23, tzinfo=UTC), PeriodKind.MONTH, "2027-01"),
    ],
    ids=["oslo-midnight", "just-before", "quarter", "new-year-local"],
)
def test_period_containing(instant: datetime, kind: PeriodKind, label: str) -> None:
    period = period_containing(instant, "Europe/Oslo", kind)
    assert period.label == label
    assert period.start <= instant < period.end


def test_rolling_window() -> None:
    now = datetime(2026, 10, 25, 12, tzinfo=UTC)
    assert rolling_window(now, timedelta(hours=1)) == Interval(now - timedelta(hours=1), now)
    with pytest.raises(ValueError, match="positive"):
        rolling_window(now, timedelta(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        rolling_window(now.replace(tzinfo=None), timedelta(hours=1))


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Oslo", date(2026, 10, 25), 25),
        ("Europe/Oslo", date(2026, 3, 29), 23),
        ("Europe/Oslo", date(2026, 3, 30), 24),
        ("America/New_York", date(2026, 11, 1), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("Pacific/Apia", date(2011, 12, 30), 0),  # the day Samoa skipped
    ],
    ids=["oslo-fall-back", "oslo-spring-forward", "oslo-normal", "ny-fall", "ny-spring", "samoa"],
)
def test_local_day_lengths(tz: str, day: date, hours: int) -> None:
    zone = ZoneInfo(tz)
    window = Interval(
        datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC) - timedelta(days=2),
        datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC) + timedelta(days=3),
    )
    days = dict(local_days(window, tz))
    if hours == 0:
        assert day not in days
    else:
        assert days[day].duration == timedelta(hours=hours)


def test_local_days_of_a_month_cover_it_exactly() -> None:
    period = calendar_month(2026, 10, "Europe/Oslo")
    days = local_days(period.interval, "Europe/Oslo")
    assert [d for d, _ in days] == [date(2026, 10, n) for n in range(1, 32)]
    assert days[0][1].start == period.start
    assert days[-1][1].end == period.end
    assert all(a[1].end == b[1].start for a, b in pairwise(days))
    assert sum((iv.duration for _, iv in days), timedelta()) == timedelta(hours=745)


def test_local_days_clip_partial_days() -> None:
    window = Interval(datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 1, 2, 6, tzinfo=UTC))
    assert local_days(window, "UTC") == [
        (date(2026, 1, 1), Interval(window.start, datetime(2026, 1, 2, tzinfo=UTC))),
        (date(2026, 1, 2), Interval(datetime(2026, 1, 2, tzinfo=UTC), window.end)),
    ]
    assert local_days(Interval(window.start, window.start), "UTC") == []


ZONES = st.sampled_from(["UTC", "Europe/Oslo", "America/New_York", "Australia/Lord_Howe"])


@settings(deadline=None, max_examples=50)
@given(year=st.integers(1990, 2060), month=st.integers(1, 12), tz=ZONES)
def test_months_tile_the_timeline(year: int, month: int, tz: str) -> None:
    period = calendar_month(year, month, tz)
    assert next_period(previous_period(period)) == period
    assert next_period(period).start == period.end
    hours = period.total_seconds / HOUR
    assert 27 * 24 <= hours <= 31 * 24 + 1
