"""Packing a monitor's hourly rollups of one UTC day into one compressed blob.

Once raw results have aged out, an hour's rollup no longer changes (late results
still can, and are merged), so :meth:`Store.compact_rollups` keeps one row per
monitor, location and day instead of 24. Each hour keeps its own counts and sketch:
latency SLIs still merge hourly sketches, and a period in any zone still starts on an
hour boundary. Format (then zlib): version 2, and per hour present: hour of day,
checks, down, degraded, latency sum in whole microseconds, unanswered, assertion
failed, sketch length, sketch (version 1 had no unanswered / assertion failed).
The sum is rounded to the microsecond; everything else is exact. The 24 sketches of
one monitor share most buckets, which is what the compression finds.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from sla_engine.slis.sketch import LatencySketch
from sla_engine.slis.varint import read_varint, write_varint

_VERSION = 2  # 2 added the quality counts; version 1 blobs are still read
_HOUR = timedelta(hours=1)


class HourCounts(Protocol):
    """What is packed of an hourly rollup (``slamon.store.sql.Rollup`` has it)."""

    hour: datetime
    checks: int
    down: int
    degraded: int
    latency_sum: float
    sketch: LatencySketch
    unanswered: int
    assertion_failed: int


class PackedHour(NamedTuple):
    """One hour read back from a packed day."""

    hour: datetime
    checks: int
    down: int
    degraded: int
    latency_sum: float
    sketch: LatencySketch
    unanswered: int = 0
    assertion_failed: int = 0


def pack_day(day: datetime, hours: Sequence[HourCounts]) -> bytes:
    """The hourly rollups of ``day`` (all of one monitor and location) as one blob."""
    out = bytearray([_VERSION])
    for r in sorted(hours, key=lambda r: r.hour):
        offset = (r.hour - day) // _HOUR
        if not 0 <= offset < 24 or r.hour != day + offset * _HOUR:
            raise ValueError(f"rollup hour {r.hour} is not an hour of the day {day}")
        sketch = r.sketch.to_bytes()
        counts = (offset, r.checks, r.down, r.degraded, round(r.latency_sum * 1e6))
        for value in (*counts, r.unanswered, r.assertion_failed):
            write_varint(out, value)
        write_varint(out, len(sketch))
        out += sketch
    return zlib.compress(bytes(out), 9)


class _Packed(NamedTuple):
    offset: int
    checks: int
    down: int
    degraded: int
    sum_us: int
    unanswered: int
    assertion_failed: int
    sketch: bytes


def _fields(blob: bytes) -> Iterator[_Packed]:
    data = zlib.decompress(blob)
    if not data or data[0] not in (1, _VERSION):
        raise ValueError("unknown packed rollup version")
    counts = 5 if data[0] == 1 else 7
    pos = 1
    while pos < len(data):
        fields = []
        for _ in range(counts + 1):
            value, pos = read_varint(data, pos)
            fields.append(value)
        size = fields[-1]
        if counts == 5:
            fields[5:5] = [0, 0]  # version 1 kept no quality counts
        offset, checks, down, degraded, sum_us, unanswered, failed = fields[:7]
        sketch = data[pos : pos + size]
        yield _Packed(offset, checks, down, degraded, sum_us, unanswered, failed, sketch)
        pos += size


def unpack_day(day: datetime, blob: bytes) -> list[PackedHour]:
    """The hourly rollups that :func:`pack_day` packed."""
    out = []
    for p in _fields(blob):
        latency_sum = p.sum_us / 1e6
        out.append(
            PackedHour(
                day + p.offset * _HOUR,
                p.checks,
                p.down,
                p.degraded,
                latency_sum,
                LatencySketch.from_bytes(p.sketch, latency_sum),
                p.unanswered,
                p.assertion_failed,
            )
        )
    return out


def unpack_day_counts(day: datetime, blob: bytes) -> list[tuple[datetime, int, int, float]]:
    """(hour, checks, down, latency sum) of each packed hour, no sketch decoded."""
    return [(day + p.offset * _HOUR, p.checks, p.down, p.sum_us / 1e6) for p in _fields(blob)]
