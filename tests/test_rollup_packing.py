"""Packed rollup days: the same hourly figures after compaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from probes.result import Result
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.store.packing import pack_day, unpack_day
from slamon.store.sql import Rollup, Store

DAY = datetime(2026, 6, 1, tzinfo=UTC)


def results(days: int = 2, monitors: tuple[str, ...] = ("a", "b")) -> list[Result]:
    rng = random.Random(1)
    out = []
    for step in range(days * 24 * 6):
        at = DAY + timedelta(minutes=10 * step)
        for m in monitors:
            state = State.DOWN if step % 37 == 0 else State.UP
            out.append(Result(m, "local", at, state, rng.lognormvariate(-2, 0.3)))
    return out


def test_pack_round_trip() -> None:
    sketch = LatencySketch()
    sketch.add(0.123, 5)
    hours = [
        Rollup("m", "local", DAY + timedelta(hours=h), 6, 1, 2, 0.738, sketch) for h in (0, 5, 23)
    ]
    back = unpack_day(DAY, pack_day(DAY, hours))
    assert [(h.hour, h.checks, h.down, h.degraded, h.latency_sum, h.sketch) for h in back] == [
        (r.hour, 6, 1, 2, 0.738, sketch) for r in hours
    ]
    with pytest.raises(ValueError, match="is not an hour of the day"):
        pack_day(DAY, [Rollup("m", "local", DAY + timedelta(days=1), 1)])


def figures(rollups: list[Rollup]) -> list[tuple[object, ...]]:
    return [
        (
            r.monitor_id,
            r.location,
            r.hour,
            r.checks,
            r.down,
            r.degraded,
            r.sketch,
        )
        for r in rollups
    ]


def sums_close(a: list[Rollup], b: list[Rollup]) -> bool:
    # The packed latency sum is kept to the microsecond.
    return all(abs(x.latency_sum - y.latency_sum) <= 1e-6 for x, y in zip(a, b, strict=True))


async def test_compaction_keeps_every_hour(store: Store) -> None:
    await store.write_batch(results(), [], {})
    window = Interval(DAY, DAY + timedelta(days=2))
    before = await store.rollups(window)
    assert len(before) == 2 * 48
    packed = await store.compact_rollups(DAY + timedelta(days=1, hours=5))
    assert packed == 2 * 24  # only the first day is whole before the cutoff
    after = await store.rollups(window)
    assert figures(after) == figures(before)
    assert sums_close(after, before)
    assert sums_close(after, before)
    assert figures(await store.rollups(window, ["b"])) == figures(
        [r for r in before if r.monitor_id == "b"]
    )
    part = Interval(DAY + timedelta(hours=3), DAY + timedelta(hours=5))
    assert [r.hour for r in await store.rollups(part, ["a"])] == [
        part.start,
        part.start + timedelta(hours=1),
    ]
    # A late result for a packed hour makes an hourly row; readers and the next
    # compaction merge it into the packed hour.
    late = Result("a", "local", DAY + timedelta(hours=2, minutes=59), State.UP, 0.5)
    await store.write_batch([late], [], {})
    (hour,) = await store.rollups(
        Interval(DAY + timedelta(hours=2), DAY + timedelta(hours=3)), ["a"]
    )
    assert hour.checks == 7
    assert await store.compact_rollups(DAY + timedelta(days=1)) == 1
    (again,) = await store.rollups(
        Interval(DAY + timedelta(hours=2), DAY + timedelta(hours=3)), ["a"]
    )
    assert (again.checks, again.sketch) == (7, hour.sketch)


async def test_latency_means_include_packed_days(store: Store) -> None:
    # The status page's response-time chart reads these sums; once raw results age
    # out and days are packed, the chart must still see every hour.
    await store.write_batch(results(), [], {})
    window = Interval(DAY, DAY + timedelta(days=2))
    before = await store.latency_means(window)
    assert len(before) == 2 * 48
    await store.compact_rollups(DAY + timedelta(days=1, hours=5))
    after = await store.latency_means(window)
    assert [(m, at, n) for m, at, n, _ in after] == [(m, at, n) for m, at, n, _ in before]
    assert all(abs(a[3] - b[3]) <= 1e-6 for a, b in zip(after, before, strict=True))
    assert [row[:3] for row in await store.latency_means(window, ["b"])] == [
        row[:3] for row in before if row[0] == "b"
    ]
    # A late result for a packed hour: both rows add up.
    late = Result("a", "local", DAY + timedelta(hours=2, minutes=59), State.UP, 0.5)
    await store.write_batch([late], [], {})
    hour = DAY + timedelta(hours=2)
    [(_, _, n, total)] = [r for r in await store.latency_means(window, ["a"]) if r[1] == hour]
    [(_, _, n0, total0)] = [r for r in before if r[0] == "a" and r[1] == hour]
    assert n == n0 + 1
    assert abs(total - (total0 + 0.5)) <= 1e-6


def test_version_1_blobs_still_read() -> None:
    import zlib

    from sla_engine.slis.varint import write_varint

    sketch = LatencySketch()
    sketch.add(0.2, 3)
    raw = bytearray([1])
    for value in (4, 3, 1, 0, 600_000):  # hour 4: 3 checks, 1 down, sum 0.6 s
        write_varint(raw, value)
    encoded = sketch.to_bytes()
    write_varint(raw, len(encoded))
    raw += encoded
    [hour] = unpack_day(DAY, zlib.compress(bytes(raw)))
    assert (hour.hour, hour.checks, hour.down, hour.latency_sum) == (
        DAY + timedelta(hours=4),
        3,
        1,
        0.6,
    )
    assert (hour.unanswered, hour.assertion_failed, hour.sketch) == (0, 0, sketch)


def test_quality_counts_survive_packing() -> None:
    hours = [Rollup("m", "local", DAY + timedelta(hours=1), 9, 2, 1, 0.5, LatencySketch(), 1, 2)]
    [back] = unpack_day(DAY, pack_day(DAY, hours))
    assert (back.unanswered, back.assertion_failed) == (1, 2)
