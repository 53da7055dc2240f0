"""Hypothesis properties of the interval algebra the SLA engine stands on."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.time.intervals import Interval, clip, intersect, subtract, total, union

BASE = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    start = draw(st.integers(0, 2_000))
    length = draw(st.integers(0, 500))
    return Interval(BASE + timedelta(seconds=start), BASE + timedelta(seconds=start + length))


spans = st.lists(intervals(), max_size=12)
fast = settings(deadline=None, max_examples=150)


def normalized(result: list[Interval]) -> bool:
    """Sorted, non-empty, disjoint and not touching."""
    return all(not iv.empty for iv in result) and all(a.end < b.start for a, b in pairwise(result))


def contains(ivs: list[Interval], t: datetime) -> bool:
    return any(iv.start <= t < iv.end for iv in ivs)


def instants(ivs: list[Interval]) -> list[datetime]:
    """Every edge and the instant just before it: enough to tell two unions apart."""
    points = {BASE}
    for iv in ivs:
        for t in (iv.start, iv.end):
            points |= {t, t - timedelta(seconds=1)}
    return sorted(points)


@fast
@given(spans)
def test_union_is_normalized_and_keeps_every_instant(a: list[Interval]) -> None:
    u = union(a)
    assert normalized(u)
    for t in instants(a):
        assert contains(u, t) == contains(a, t)


@fast
@given(spans)
def test_total_of_union_is_at_most_the_sum(a: list[Interval]) -> None:
    assert total(a) <= sum((iv.duration for iv in a), timedelta())
    assert total(a) == total(union(a))


@fast
@given(spans, intervals())
def test_clip_is_idempotent_and_inside(a: list[Interval], window: Interval) -> None:
    once = clip(a, window)
    assert clip(once, window) == once
    assert normalized(once)
    assert all(window.start <= iv.start and iv.end <= window.end for iv in once)


@fast
@given(spans, spans)
def test_subtract_then_union_back(a: list[Interval], b: list[Interval]) -> None:
    rest = subtract(a, b)
    assert normalized(rest)
    assert intersect(rest, b) == []
    assert union([*rest, *b]) == union([*a, *b])
    assert total(rest) + total(intersect(a, b)) == total(a)


@fast
@given(spans, spans)
def test_intersect_is_commutative_and_normalized(a: list[Interval], b: list[Interval]) -> None:
    both = intersect(a, b)
    assert both == intersect(b, a)
    assert normalized(both)
    for t in instants([*a, *b]):
        assert contains(both, t) == (contains(a, t) and contains(b, t))


def plain_union(a: list[Interval]) -> list[Interval]:
    """The obvious merge, for comparison with the optimized one."""
    out: list[Interval] = []
    for iv in sorted(x for x in a if x.start < x.end):
        if out and iv.start <= out[-1].end:
            out[-1] = Interval(out[-1].start, max(out[-1].end, iv.end))
        else:
            out.append(iv)
    return out


def plain_clip(a: list[Interval], window: Interval) -> list[Interval]:
    parts = (iv.intersection(window) for iv in plain_union(a))
    return [p for p in parts if p is not None]


@fast
@given(spans)
def test_union_is_the_plain_merge(a: list[Interval]) -> None:
    assert union(a) == plain_union(a)
    assert union(reversed(a)) == plain_union(a)


@fast
@given(spans, intervals())
def test_clip_is_the_plain_union_cut_to_the_window(a: list[Interval], window: Interval) -> None:
    assert clip(a, window) == plain_clip(a, window)
