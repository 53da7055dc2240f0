"""The report text of instants and durations: the same as the plain formatting it replaced."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.money.rounding import plain
from sla_engine.time.periods import zone
from sla_engine.time.text import local_iso, seconds_plain, spaced, span_iso, utc_iso

ZONES = ["UTC", "Europe/Oslo", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe"]
instants = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
fast = settings(deadline=None, max_examples=300)


@fast
@given(st.integers(-(10**15), 10**15))
def test_seconds_are_the_decimal_quotient(us: int) -> None:
    span = timedelta(microseconds=us)
    expected = plain((Decimal(us) / Decimal(1_000_000)).normalize())
    assert seconds_plain(span) == expected
    assert seconds_plain(span) == plain(Decimal(us) / Decimal(1_000_000))


@fast
@given(instants, st.sampled_from(ZONES))
def test_instants_are_isoformat(at: datetime, tz: str) -> None:
    assert utc_iso(at) == at.isoformat().replace("+00:00", "Z")
    assert utc_iso(at, " ") == at.isoformat(sep=" ").replace("+00:00", "Z")
    local = at.astimezone(zone(tz))
    assert utc_iso(local) == utc_iso(at)
    assert local_iso(at, tz) == local.isoformat()
    assert local_iso(at, tz, " ") == local.isoformat(sep=" ")
    assert spaced(local_iso(at, tz)) == local_iso(at, tz, " ")


@fast
@given(instants, st.integers(0, 10**12), st.sampled_from(ZONES))
def test_span_text_is_its_bounds(start: datetime, us: int, tz: str) -> None:
    end = start + timedelta(microseconds=us)
    assert span_iso(start, end, tz) == (
        local_iso(start, tz),
        local_iso(end, tz),
        utc_iso(start),
        utc_iso(end),
    )
