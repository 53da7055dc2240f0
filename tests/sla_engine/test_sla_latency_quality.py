"""Latency SLI over mergeable sketches, and the quality SLI."""

from __future__ import annotations

from fractions import Fraction

import pytest

from sla_engine.slis.latency import latency_compliance, latency_percentile
from sla_engine.slis.quality import quality_sli
from sla_engine.slis.sketch import LatencySketch


def sketch(*values: float) -> LatencySketch:
    out = LatencySketch()
    for v in values:
        out.add(v)
    return out


class ExactSketch:
    """A tiny exact stand-in: proves latency.py needs only the protocol."""

    def __init__(self, values: list[float]) -> None:
        self.values = sorted(values)

    @property
    def count(self) -> int:
        return len(self.values)

    def quantile(self, q: float) -> float | None:
        if not self.values:
            return None
        return self.values[round(q * (len(self.values) - 1))]

    def merge(self, other: ExactSketch) -> ExactSketch:
        return ExactSketch(self.values + other.values)


def test_percentile_of_merged_fakes() -> None:
    parts = [ExactSketch([0.1, 0.2]), ExactSketch([0.3]), ExactSketch([0.4, 0.5])]
    assert latency_percentile(parts, 0.5) == 0.3
    assert latency_percentile(parts, 1.0) == 0.5
    assert latency_percentile([], 0.99) is None
    assert latency_percentile([ExactSketch([])], 0.99) is None


def test_percentile_of_real_sketches_within_accuracy_and_inputs_untouched() -> None:
    hourly = [sketch(*(0.01 * i for i in range(1, 101))) for _ in range(3)]
    before = [s.count for s in hourly]
    p99 = latency_percentile(hourly, 0.99)
    assert p99 is not None
    assert p99 == pytest.approx(0.99, rel=0.02)
    assert [s.count for s in hourly] == before


@pytest.mark.parametrize(
    ("p", "limit", "ok"),
    [(0.2, 0.3, True), (0.3, 0.3, True), (0.30001, 0.3, False)],
    ids=["below", "equal-complies", "above"],
)
def test_latency_compliance(p: float, limit: float, ok: bool) -> None:
    assert latency_compliance(p, limit) is ok


def test_latency_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="quantile"):
        latency_percentile([ExactSketch([1.0])], 1.5)
    with pytest.raises(ValueError, match="NaN"):
        latency_compliance(float("nan"), 0.3)
    with pytest.raises(ValueError, match="positive"):
        latency_compliance(0.1, 0)


@pytest.mark.parametrize(
    ("passed", "checks", "sli"),
    [(0, 0, Fraction(1)), (9, 10, Fraction(9, 10)), (0, 3, Fraction(0)), (7, 7, Fraction(1))],
    ids=["no-checks", "nine-of-ten", "none-held", "all-held"],
)
def test_quality_sli(passed: int, checks: int, sli: Fraction) -> None:
    assert quality_sli(passed, checks) == sli


def test_quality_sli_validation() -> None:
    with pytest.raises(ValueError, match="checks_passed <= checks_total"):
        quality_sli(3, 2)
    with pytest.raises(TypeError, match="int"):
        quality_sli(1.0, 2)  # type: ignore[arg-type]
