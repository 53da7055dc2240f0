"""Recurring maintenance: cron on the local wall clock, DST resolved as people expect."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla_engine.time.intervals import Interval
from sla_engine.time.recurrence import MaintenanceSchedule, check_cron, occurrences

H = timedelta(hours=1)
OSLO = ZoneInfo("Europe/Oslo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day(y: int, m: int, d: int) -> Interval:
    """A UTC day and a bit either side, enough to catch one local night."""
    return Interval(utc(y, m, d) - 3 * H, utc(y, m, d) + 27 * H)


# Europe/Oslo: 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC);
#              2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC).
CASES = [
    # (cron, duration, day, expected UTC starts)
    ("0 2 * * *", H, (2026, 3, 28), [utc(2026, 3, 28, 1)]),  # CET: 02:00 = 01:00Z
    ("0 2 * * *", H, (2026, 3, 29), [utc(2026, 3, 29, 1)]),  # gap: 03:00 CEST = 01:00Z
    ("30 2 * * *", H, (2026, 3, 29), [utc(2026, 3, 29, 1, 30)]),  # gap: 03:30 CEST
    ("0 3 * * *", H, (2026, 3, 29), [utc(2026, 3, 29, 1)]),  # 03:00 CEST exists
    ("0 2 * * *", H, (2026, 3, 30), [utc(2026, 3, 30, 0)]),  # CEST: 02:00 = 00:00Z
    ("0 2 * * *", H, (2026, 10, 24), [utc(2026, 10, 24, 0)]),
    ("0 2 * * *", H, (2026, 10, 25), [utc(2026, 10, 25, 0)]),  # twice: the first (CEST)
    ("30 2 * * *", H, (2026, 10, 25), [utc(2026, 10, 25, 0, 30)]),
    ("0 3 * * *", H, (2026, 10, 25), [utc(2026, 10, 25, 2)]),  # 03:00 CET
    ("0 2 * * *", H, (2026, 10, 26), [utc(2026, 10, 26, 1)]),  # CET again
    ("0 1 * * *", H, (2026, 10, 25), [utc(2026, 10, 24, 23)]),
]
IDS = [
    "before-spring-forward",
    "spring-forward-0200-in-gap-moves-to-0300",
    "spring-forward-0230-in-gap-moves-to-0330",
    "spring-forward-0300-exists",
    "after-spring-forward",
    "before-fall-back",
    "fall-back-0200-first-of-two",
    "fall-back-0230-first-of-two",
    "fall-back-0300-once",
    "after-fall-back",
    "fall-back-0100-unaffected",
]


@pytest.mark.parametrize(("cron", "duration", "on", "starts"), CASES, ids=IDS)
def test_oslo_dst_days(
    cron: str, duration: timedelta, on: tuple[int, int, int], starts: list[datetime]
) -> None:
    window = day(*on)
    found = occurrences(cron, duration, "Europe/Oslo", window)
    # Only the occurrences on the local day asked about (the window is wider).
    on_day = [iv for iv in found if iv.start.astimezone(OSLO).date() == date(*on)]
    assert [iv.start for iv in on_day] == starts
    assert all(iv.duration == duration for iv in found)


def test_duration_is_elapsed_time_on_fall_back_day() -> None:
    (iv,) = occurrences(
        "0 2 * * *", H, "Europe/Oslo", Interval(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))
    )
    assert iv == Interval(utc(2026, 10, 25, 0), utc(2026, 10, 25, 1))  # 02:00 CEST to 02:00 CET


def test_two_matches_landing_on_one_instant_give_one_window() -> None:
    # 02:30 (in the gap) and 03:30 CEST are the same instant on spring-forward day.
    found = occurrences("30 2,3 * * *", H, "Europe/Oslo", day(2026, 3, 29))
    on_day = [iv.start for iv in found if utc(2026, 3, 29) <= iv.start < utc(2026, 3, 30)]
    assert on_day == [utc(2026, 3, 29, 1, 30)]


def test_an_occurrence_running_into_the_window_counts() -> None:
    found = occurrences(
        "0 23 * * *", 2 * H, "UTC", Interval(utc(2026, 5, 2, 0, 30), utc(2026, 5, 2, 1))
    )
    assert found == [Interval(utc(2026, 5, 1, 23), utc(2026, 5, 2, 1))]


def test_a_week_of_nightly_windows() -> None:
    found = occurrences("0 2 * * 1-5", H, "UTC", Interval(utc(2026, 6, 1), utc(2026, 6, 8)))
    assert [iv.start.day for iv in found] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("cron", ["0 2 * *", "61 * * * *", "0 0 31 2 *", "every night"], ids=str)
def test_bad_cron_lines_are_refused(cron: str) -> None:
    with pytest.raises(ValueError):
        check_cron(cron)


def test_a_cron_firing_too_often_is_refused() -> None:
    with pytest.raises(ValueError, match="more than"):
        occurrences("* * * * *", H, "UTC", Interval(utc(2026, 1, 1), utc(2026, 4, 1)))


def test_schedule_bounds_and_names() -> None:
    schedule = MaintenanceSchedule(
        id="nightly",
        title="Nightly",
        description="",
        component_ids=("api",),
        start=utc(2026, 6, 2),
        end=utc(2026, 6, 4),
        cron="0 2 * * *",
        duration=H,
        timezone="UTC",
    )
    windows = schedule.windows(Interval(utc(2026, 6, 1), utc(2026, 6, 10)))
    assert [w.id for w in windows] == [
        "nightly@2026-06-02T02:00:00Z",
        "nightly@2026-06-03T02:00:00Z",
    ]
    one_off = MaintenanceSchedule(
        "upgrade", "Upgrade", "", ("db",), start=utc(2026, 6, 5, 22), end=utc(2026, 6, 6, 1)
    )
    assert [w.id for w in one_off.windows(Interval(utc(2026, 6, 6), utc(2026, 6, 7)))] == [
        "upgrade"
    ]
    assert one_off.windows(Interval(utc(2026, 6, 6, 1), utc(2026, 6, 7))) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": utc(2026, 1, 1)},
        {"start": utc(2026, 1, 2), "end": utc(2026, 1, 1)},
        {"cron": "0 2 * * *"},
        {"cron": "0 2 * * *", "duration": H, "timezone": "Mars/Olympus"},
    ],
    ids=["one-off-without-end", "ends-before-start", "cron-without-duration", "bad-zone"],
)
def test_invalid_schedules(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MaintenanceSchedule("x", "X", "", ("a",), **kwargs)  # type: ignore[arg-type]
