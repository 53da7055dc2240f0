"""A mergeable latency sketch: log-spaced buckets with a bounded relative error.

The same idea as DDSketch: a value x lands in bucket ceil(log_gamma(x)), so any
quantile read back is within ``RELATIVE_ACCURACY`` of a true sample, and two sketches
merge by adding bucket counts. Hourly rollups store one per monitor and location, and
latency SLIs over a month merge them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from sla_engine.slis.varint import read_varint, write_varint

RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
# Latencies below a microsecond all land in one bucket: no probe measures finer.
_MIN_VALUE = 1e-6
_ZERO_INDEX = math.ceil(math.log(_MIN_VALUE) / _LOG_GAMMA) - 1


class LatencySketch:
    """Counts of latencies (seconds) in log-spaced buckets; mergeable, compact."""

    __slots__ = ("_buckets", "count", "total")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0

    @staticmethod
    def _index(value: float) -> int:
        if value <= _MIN_VALUE:
            return _ZERO_INDEX
        return math.ceil(math.log(value) / _LOG_GAMMA)

    @staticmethod
    def _value(index: int) -> float:
        if index <= _ZERO_INDEX:
            return 0.0
        # The midpoint (in relative terms) of the bucket (gamma^(i-1), gamma^i].
        return 2 * _GAMMA**index / (_GAMMA + 1)

    def add(self, value: float, times: int = 1) -> None:
        """Record ``value`` seconds ``times`` times (negative values count as zero)."""
        idx = self._index(max(value, 0.0))
        self._buckets[idx] = self._buckets.get(idx, 0) + times
        self.count += times
        self.total += max(value, 0.0) * times

    def add_all(self, values: Iterable[float]) -> None:
        """Record each of ``values`` once, as ``add`` does, in one pass."""
        buckets = self._buckets
        get = buckets.get
        log, ceil = math.log, math.ceil
        count = 0
        total = self.total  # in order, as ``add`` sums (the same float)
        for value in values:
            if value <= _MIN_VALUE:
                idx = _ZERO_INDEX
                total += max(value, 0.0)
            else:
                idx = ceil(log(value) / _LOG_GAMMA)
                total += value
            buckets[idx] = get(idx, 0) + 1
            count += 1
        self.count += count
        self.total = total

    def merge(self, other: LatencySketch) -> LatencySketch:
        """Add ``other``'s counts into this sketch and return it."""
        for idx, n in other._buckets.items():
            self._buckets[idx] = self._buckets.get(idx, 0) + n
        self.count += other.count
        self.total += other.total
        return self

    @classmethod
    def merged(cls, sketches: Iterable[LatencySketch]) -> LatencySketch:
        """A new sketch holding the counts of all ``sketches``."""
        out = cls()
        for s in sketches:
            out.merge(s)
        return out

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1) in seconds, or None when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        if self.count == 0:
            return None
        rank = q * (self.count - 1)
        seen = 0
        for idx in sorted(self._buckets):
            seen += self._buckets[idx]
            if seen > rank:
                return self._value(idx)
        return self._value(max(self._buckets))

    def count_at_most(self, limit: float) -> int:
        """How many recorded values were at most ``limit`` (to bucket accuracy)."""
        top = self._index(limit)
        return sum(n for idx, n in self._buckets.items() if idx <= top)

    def to_bytes(self) -> bytes:
        """A compact encoding: varint bucket count, then (index delta, count) pairs."""
        out = bytearray()
        items = sorted(self._buckets.items())
        write_varint(out, len(items))
        prev = 0
        for idx, n in items:
            delta = idx - prev
            write_varint(out, (delta << 1) ^ (delta >> 63))  # zigzag
            write_varint(out, n)
            prev = idx
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes, total: float = 0.0) -> LatencySketch:
        """Decode what ``to_bytes`` wrote; ``total`` (the sum) is stored beside it."""
        sketch = cls()
        buckets = sketch._buckets
        n_items, pos = read_varint(data, 0)
        size = len(data)
        prev = count = 0
        # Most varints here are one byte (small index steps, small counts): read those
        # in line, the rest with read_varint (which also reports truncation).
        for _ in range(n_items):
            if pos < size and data[pos] < 0x80:
                zz = data[pos]
                pos += 1
            else:
                zz, pos = read_varint(data, pos)
            if pos < size and data[pos] < 0x80:
                n = data[pos]
                pos += 1
            else:
                n, pos = read_varint(data, pos)
            prev += (zz >> 1) ^ -(zz & 1)
            buckets[prev] = n
            count += n
        if pos != size:
            raise ValueError("trailing bytes in sketch")
        sketch.count = count
        sketch.total = total
        return sketch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencySketch):
            return NotImplemented
        return self._buckets == other._buckets

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, buckets={len(self._buckets)})"
