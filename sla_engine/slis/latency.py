"""Latency SLI: a percentile over merged sketches, compared with the agreed limit.

Latencies are floats (seconds): they are measurements, never money or tier inputs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Protocol, Self, TypeVar


class MergeableSketch(Protocol):
    """What a latency sketch must offer (``sla_engine.slis.sketch.LatencySketch`` does)."""

    @property
    def count(self) -> int:
        """Values recorded."""

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile, or None when empty."""

    def merge(self, other: Self) -> Self:
        """Combine with ``other`` and return the result."""


S = TypeVar("S", bound=MergeableSketch)


def _check_q(q: float) -> None:
    if math.isnan(q) or not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q}")


def latency_percentile(sketches: Iterable[S], q: float) -> float | None:
    """The ``q`` quantile of all ``sketches`` merged; None when they hold no values.

    The inputs are never modified: merging starts from a copy of the first sketch,
    because a sketch's ``merge`` may add into itself.
    """
    _check_q(q)
    merged: S | None = None
    for sketch in sketches:
        merged = copy.deepcopy(sketch) if merged is None else merged.merge(sketch)
    if merged is None or merged.count == 0:
        return None
    return merged.quantile(q)


def latency_compliance(p_value: float, limit: float) -> bool:
    """True when the measured percentile is at most ``limit`` (equal complies)."""
    if math.isnan(p_value) or math.isnan(limit):
        raise ValueError("latency values must not be NaN")
    if limit <= 0:
        raise ValueError(f"latency limit must be positive, got {limit}")
    return p_value <= limit
