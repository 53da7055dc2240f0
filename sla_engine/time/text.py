"""Instants and durations as reports show them: one module for every renderer.

The explanation, the report entries and the CSV detail all format span bounds (in UTC
and in the contract's zone) and durations; a month's report for a thousand contracts
does so hundreds of thousands of times, so these stay small and direct. (Remembering
the text per instant was tried: most instants are formatted once or twice, and keeping
them cost more than formatting again.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sla_engine.time.periods import zone

_US = timedelta(microseconds=1)


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return zone(tz)


def utc_iso(instant: datetime, sep: str = "T") -> str:
    """``instant`` as ISO 8601 in UTC ending in ``Z`` (``2026-10-01T00:00:00Z``)."""
    if instant.tzinfo is not UTC:  # most instants are UTC already (as the store gives them)
        instant = instant.astimezone(UTC)
    return instant.isoformat(sep).replace("+00:00", "Z")


def local_iso(instant: datetime, tz: str, sep: str = "T") -> str:
    """``instant`` as ISO 8601 wall-clock time with its offset in the zone ``tz``."""
    return instant.astimezone(_zone(tz)).isoformat(sep)


def seconds_plain(span: timedelta) -> str:
    """A duration as plain decimal seconds, exact to the microsecond (``90``, ``1.5``).

    The same text as the Decimal quotient of microseconds by 1,000,000 printed with
    ``f`` (no exponent, no trailing zeros in the fraction), in integer arithmetic.
    """
    us = span // _US
    whole, part = divmod(-us if us < 0 else us, 1_000_000)
    sign = "-" if us < 0 else ""
    if not part:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{f'{part:06d}'.rstrip('0')}"


SpanText = tuple[str, str, str, str]
"""A span's bounds as text: local start, local end, UTC start, UTC end (``T`` form)."""


def span_iso(start: datetime, end: datetime, tz: str) -> SpanText:
    """The bounds of ``[start, end)`` as ISO 8601 text, in the zone ``tz`` and in UTC."""
    zone_ = _zone(tz)
    return (
        start.astimezone(zone_).isoformat(),
        end.astimezone(zone_).isoformat(),
        utc_iso(start),
        utc_iso(end),
    )


def spaced(text: str) -> str:
    """ISO 8601 ``T`` form text with a space between date and time instead."""
    # isoformat always writes a four-digit year: the separator is the 11th character.
    return f"{text[:10]} {text[11:]}"
