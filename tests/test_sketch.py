"""The mergeable latency sketch."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.slis.sketch import RELATIVE_ACCURACY, LatencySketch

latencies = st.lists(
    st.floats(min_value=1e-5, max_value=120, allow_nan=False), min_size=1, max_size=300
)


@settings(deadline=None, max_examples=100)
@given(latencies, st.floats(min_value=0, max_value=1))
def test_quantile_within_relative_accuracy_of_a_sample(values: list[float], q: float) -> None:
    sketch = LatencySketch()
    for v in values:
        sketch.add(v)
    got = sketch.quantile(q)
    assert got is not None
    ordered = sorted(values)
    true = ordered[int(q * (len(ordered) - 1))]
    assert abs(got - true) <= true * RELATIVE_ACCURACY * 1.0001


@settings(deadline=None, max_examples=60)
@given(latencies, latencies)
def test_merge_equals_adding_everything(a: list[float], b: list[float]) -> None:
    sa, sb, both = LatencySketch(), LatencySketch(), LatencySketch()
    for v in a:
        sa.add(v)
        both.add(v)
    for v in b:
        sb.add(v)
        both.add(v)
    assert sa.merge(sb) == both
    assert sa.count == len(a) + len(b)


@settings(deadline=None, max_examples=60)
@given(latencies)
def test_bytes_round_trip(values: list[float]) -> None:
    sketch = LatencySketch()
    for v in values:
        sketch.add(v)
    back = LatencySketch.from_bytes(sketch.to_bytes(), sketch.total)
    assert back == sketch
    assert back.count == sketch.count
    assert back.quantile(0.99) == sketch.quantile(0.99)


def test_empty_and_zero() -> None:
    s = LatencySketch()
    assert s.quantile(0.5) is None
    s.add(0.0)
    assert s.quantile(0.5) == 0.0


def test_a_steady_hour_encodes_small() -> None:
    rng = random.Random(7)
    s = LatencySketch()
    for _ in range(720):  # an hour of 5 s checks around 40 ms
        s.add(rng.gauss(0.040, 0.004))
    assert len(s.to_bytes()) < 80
    assert s.count_at_most(0.060) == 720


@settings(deadline=None, max_examples=200)
@given(st.dictionaries(st.integers(-3000, 3000), st.integers(1, 400), max_size=150))
def test_decoding_matches_for_one_byte_and_longer_varints(buckets: dict[int, int]) -> None:
    sketch = LatencySketch()
    for idx, n in buckets.items():
        sketch._buckets[idx] = n
        sketch.count += n
    back = LatencySketch.from_bytes(sketch.to_bytes())
    assert back == sketch
    assert back.count == sketch.count


def test_truncated_or_padded_sketches_are_refused() -> None:
    import pytest

    s = LatencySketch()
    for v in (0.01, 0.02, 0.5):
        s.add(v)
    data = s.to_bytes()
    with pytest.raises(ValueError):
        LatencySketch.from_bytes(data[:-1])
    with pytest.raises(ValueError):
        LatencySketch.from_bytes(data + b"\x00")


def test_multi_byte_varints_decode_and_every_truncation_is_refused() -> None:
    import pytest

    sketch = LatencySketch()
    for k, value in enumerate([1e-7, 0.001, 0.02, 0.3, 4.0, 90.0]):
        sketch.add(value, times=1 + 150**k)  # counts of one to six varint bytes
    data = sketch.to_bytes()
    back = LatencySketch.from_bytes(data, 1.0)
    assert back == sketch
    assert back.count == sketch.count
    for cut in range(len(data)):
        with pytest.raises(ValueError, match=r"truncated|trailing"):
            LatencySketch.from_bytes(data[:cut])
