"""Contract periods (calendar months and quarters in a time zone) and local days.

A period is defined in the contract's time zone and then converted to UTC instants, so
its length follows DST: October 2026 in Europe/Oslo has 745 hours, March 743.
Local midnight that falls in a DST gap is the first instant of that local day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sla_engine.time.intervals import Interval

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q(\d)")
_MIN_YEAR, _MAX_YEAR = 1, 9998


class PeriodKind(StrEnum):
    """The calendar unit a period spans."""

    MONTH = "month"
    QUARTER = "quarter"


def zone(tz: str) -> ZoneInfo:
    """The IANA zone named ``tz``; ValueError (not ZoneInfoNotFoundError) if unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {tz!r}") from exc


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) of the local calendar ``day`` in ``tz``."""
    # fold=0 in a gap reads the wall time with the offset from before the change, which
    # lands on the first real instant after the gap: the start of that local day.
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _check_year(year: int) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueError(f"year must be within {_MIN_YEAR}..{_MAX_YEAR}, got {year}")


def _month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    _check_year(year)
    if not 1 <= month <= 12:
        raise ValueError(f"month must be within 1..12, got {month}")
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return local_midnight(date(year, month, 1), tz), local_midnight(nxt, tz)


def _quarter_bounds(year: int, quarter: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    _check_year(year)
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be within 1..4, got {quarter}")
    first = 3 * quarter - 2
    nxt = date(year + 1, 1, 1) if quarter == 4 else date(year, first + 3, 1)
    return local_midnight(date(year, first, 1), tz), local_midnight(nxt, tz)


def _parse_label(spec: str) -> tuple[PeriodKind, int, int]:
    if m := _MONTH.fullmatch(spec):
        return PeriodKind.MONTH, int(m[1]), int(m[2])
    if m := _QUARTER.fullmatch(spec):
        return PeriodKind.QUARTER, int(m[1]), int(m[2])
    raise ValueError(
        f"period {spec!r} is neither a month like '2026-10' nor a quarter like '2026-Q4'"
    )


def _bounds(kind: PeriodKind, year: int, number: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if kind is PeriodKind.MONTH:
        return _month_bounds(year, number, tz)
    return _quarter_bounds(year, number, tz)


def _label(kind: PeriodKind, year: int, number: int) -> str:
    return f"{year:04d}-{number:02d}" if kind is PeriodKind.MONTH else f"{year:04d}-Q{number}"


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month or quarter in ``tz``, as the UTC instants ``[start, end)``."""

    label: str
    tz: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
                raise ValueError(f"Period.{name} must be a UTC datetime, got {value!r}")
        kind, year, number = _parse_label(self.label)
        expected = _bounds(kind, year, number, zone(self.tz))
        if (self.start, self.end) != expected:
            raise ValueError(
                f"Period {self.label} in {self.tz} is [{expected[0]}, {expected[1]}), "
                f"not [{self.start}, {self.end})"
            )

    @property
    def kind(self) -> PeriodKind:
        """Whether this is a month or a quarter."""
        return _parse_label(self.label)[0]

    @property
    def interval(self) -> Interval:
        """The period as a half-open UTC interval."""
        return Interval(self.start, self.end)

    @property
    def total_seconds(self) -> int:
        """Length in seconds (DST-correct)."""
        return (self.end - self.start) // timedelta(seconds=1)

    @property
    def local_start(self) -> datetime:
        """``start`` as wall time in the contract's zone."""
        return self.start.astimezone(zone(self.tz))

    @property
    def local_end(self) -> datetime:
        """``end`` as wall time in the contract's zone."""
        return self.end.astimezone(zone(self.tz))


def _make(kind: PeriodKind, year: int, number: int, tz: str) -> Period:
    start, end = _bounds(kind, year, number, zone(tz))
    return Period(_label(kind, year, number), tz, start, end)


def calendar_month(year: int, month: int, tz: str) -> Period:
    """The calendar month ``year-month`` in the IANA zone ``tz``."""
    return _make(PeriodKind.MONTH, year, month, tz)


def calendar_quarter(year: int, quarter: int, tz: str) -> Period:
    """The calendar quarter ``year-Qquarter`` in the IANA zone ``tz``."""
    return _make(PeriodKind.QUARTER, year, quarter, tz)


def parse_period(spec: str, tz: str) -> Period:
    """The period named ``spec`` ('2026-10' or '2026-Q4') in ``tz``."""
    kind, year, number = _parse_label(spec)
    return _make(kind, year, number, tz)


def _step(period: Period, delta: int) -> Period:
    kind, year, number = _parse_label(period.label)
    per_year = 12 if kind is PeriodKind.MONTH else 4
    index = year * per_year + (number - 1) + delta
    return _make(kind, index // per_year, index % per_year + 1, period.tz)


def previous_period(period: Period) -> Period:
    """The month or quarter before ``period``, in the same zone."""
    return _step(period, -1)


def next_period(period: Period) -> Period:
    """The month or quarter after ``period``, in the same zone."""
    return _step(period, 1)


def period_containing(instant: datetime, tz: str, kind: PeriodKind = PeriodKind.MONTH) -> Period:
    """The month or quarter in ``tz`` that contains ``instant``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    local = instant.astimezone(zone(tz))
    number = local.month if kind is PeriodKind.MONTH else (local.month - 1) // 3 + 1
    return _make(kind, local.year, number, tz)


def rolling_window(now: datetime, length: timedelta) -> Interval:
    """The window of ``length`` that ends at ``now``: ``[now - length, now)``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if length <= timedelta(0):
        raise ValueError(f"window length must be positive, got {length}")
    return Interval(now - length, now)


def local_days(window: Interval, tz: str) -> list[tuple[date, Interval]]:
    """Each local calendar day in ``tz`` that overlaps ``window``, clipped to it.

    A whole day lasts 23, 24 or 25 hours (or other lengths in zones with odd
    transitions); the first and last entries are cut at the window's edges.
    """
    if window.empty:
        return []
    where = zone(tz)
    day = window.start.astimezone(where).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(where).date()
    out: list[tuple[date, Interval]] = []
    start = local_midnight(day, where)
    while day <= last:
        nxt = day + timedelta(days=1)
        end = local_midnight(nxt, where)
        part = Interval(start, end).intersection(window)
        if part is not None:
            out.append((day, part))
        day, start = nxt, end
    return out
