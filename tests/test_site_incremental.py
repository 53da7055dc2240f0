"""Rebuilding the status site renders and writes only what changed, and the same bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_engine.incidents import MaintenanceWindow
from sla_engine.time.states import State, StateInterval
from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.site.folder import write_site
from slamon.site.views import SnapshotInputs, ViewCache, latency_series, snapshot_from
from statuspage.charts import ChartMemo, latency_chart
from statuspage.i18n import Locale
from statuspage.render import PageRenderer
from statuspage.snapshot import LatencyPoint, PageSnapshot
from tests.statuspage_samples import big_snapshot, snapshot
from tests.test_statuspage_site import config as site_config


def fresh(s: PageSnapshot) -> dict[str, bytes]:
    """The site as a renderer that never saw another snapshot renders it."""
    return PageRenderer().render_site(s)


def with_component(s: PageSnapshot, k: int, **changes: object) -> PageSnapshot:
    comps = list(s.components)
    comps[k] = replace(comps[k], **changes)  # type: ignore[arg-type]
    return replace(s, components=tuple(comps))


def test_a_second_build_with_no_change_renders_no_component_page() -> None:
    s = big_snapshot(30)
    renderer = PageRenderer()
    first = renderer.render_site(s)
    assert renderer.rendered == 30
    again = renderer.render_site(s)
    assert renderer.rendered == 30
    assert again == first == fresh(s)


def test_a_change_in_one_component_renders_its_page_only() -> None:
    s = big_snapshot(30)
    renderer = PageRenderer()
    first = renderer.render_site(s)
    changed = with_component(s, 4, state=State.DOWN, members_down=2)
    second = renderer.render_site(changed)
    assert renderer.rendered == 31
    assert second == fresh(changed)
    differ = {p for p in first if first[p] != second.get(p)}
    assert "components/svc-004.html" in differ
    assert not {p for p in differ if p.startswith("components/")} - {"components/svc-004.html"}


def test_the_current_hours_chart_cell_does_not_render_the_page_again() -> None:
    s = big_snapshot(30)
    renderer = PageRenderer()
    first = renderer.render_site(s)
    c = s.components[2]
    last = c.latency[-1]
    points = (*c.latency[:-1], LatencyPoint(last.at, (last.mean_ms or 100.0) + 37.5))
    moved = with_component(s, 2, latency=points, response_ms=(c.response_ms or 0) + 1)
    second = renderer.render_site(moved)
    assert renderer.rendered == 30  # the chart is drawn anew, the page is not rendered
    assert second == fresh(moved)
    assert second["components/svc-002.html"] != first["components/svc-002.html"]


def test_time_passing_alone_renders_no_page_again() -> None:
    s = big_snapshot(10)
    renderer = PageRenderer()
    first = renderer.render_site(s)
    # The footer's time changes, and the exact uptimes (not as shown, to 3 places).
    later = replace(s, generated_at=s.generated_at + timedelta(minutes=3))
    comps = [replace(c, uptime_90=c.uptime_90 + Decimal("1e-20")) for c in later.components]
    later = replace(later, components=tuple(comps))
    second = renderer.render_site(later)
    assert renderer.rendered == 10
    assert second == fresh(later)
    assert second["components/svc-001.html"] != first["components/svc-001.html"]  # the time


def test_a_component_gone_is_forgotten_and_one_renamed_elsewhere_shows() -> None:
    s = big_snapshot(12)
    renderer = PageRenderer()
    renderer.render_site(s)
    fewer = replace(s, components=s.components[:-1])
    assert renderer.render_site(fewer) == fresh(fewer)
    renamed = with_component(fewer, 0, name="Renamed service")
    assert renderer.render_site(renamed) == fresh(renamed)


def test_unchanged_files_are_linked_not_written_again(tmp_path: Path) -> None:
    s = big_snapshot(10)
    files = PageRenderer().render_site(s)
    first = write_site(files, tmp_path / "site")
    asked: list[str] = []

    def unchanged(path: str, data: bytes) -> Path | None:
        asked.append(path)
        return first / path if (first / path).read_bytes() == data else None

    changed = dict(files, **{"index.html": b"<!doctype html>changed"})
    second = write_site(changed, tmp_path / "site", unchanged=unchanged)
    assert sorted(asked) == sorted(files)
    for path in files:
        same = (second / path).stat().st_ino == (first / path).stat().st_ino
        assert same == (path != "index.html"), path
    assert (tmp_path / "site" / "index.html").read_bytes() == b"<!doctype html>changed"


# -- the view cache: days before today kept, today computed again ---------------------

T_END = datetime(2026, 10, 26, 9, 30, tzinfo=UTC)  # the day after DST ended in Oslo
STATES = [State.UP, State.DOWN, State.DEGRADED, State.MAINTENANCE, State.UNKNOWN]


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[StateInterval]]:
    """Sorted, disjoint intervals per monitor over the last 95 days, gaps, open ends."""
    out: dict[str, list[StateInterval]] = {}
    for m in ("a1", "a2", "b"):
        spans: list[StateInterval] = []
        at = T_END - timedelta(days=95) + timedelta(minutes=draw(st.integers(0, 600)))
        for _ in range(draw(st.integers(0, 14))):
            at += timedelta(minutes=draw(st.sampled_from([0, 0, 1, 59, 600, 3000])))
            length = timedelta(minutes=draw(st.integers(1, 20 * 1440)))
            if at >= T_END + timedelta(hours=6):
                break
            spans.append(StateInterval(m, draw(st.sampled_from(STATES)), at, at + length))
            at += length
        if spans and draw(st.booleans()):
            spans[-1] = StateInterval(m, spans[-1].state, spans[-1].start, None)
        out[m] = spans
    return out


def inputs_at(
    cfg: Config,
    history: dict[str, list[StateInterval]],
    now: datetime,
    maintenance: tuple[MaintenanceWindow, ...],
) -> SnapshotInputs:
    live = {m: (h[-1].state if h else State.UNKNOWN) for m, h in history.items()}
    return SnapshotInputs(cfg, now, live, history, (), (), maintenance)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories(),
    st.lists(st.integers(-12 * 60, 14 * 60), min_size=1, max_size=4),
    st.booleans(),
)
def test_views_from_the_cache_equal_views_computed_in_one_go(
    tmp_path_factory: pytest.TempPathFactory,
    history: dict[str, list[StateInterval]],
    minutes: list[int],
    with_maintenance: bool,
) -> None:
    cfg = parse_config(site_config(tmp_path_factory.mktemp("v")), {})
    maintenance: tuple[MaintenanceWindow, ...] = ()
    if with_maintenance:
        maintenance = (
            MaintenanceWindow("mw", "M", "", ("api",), T_END - timedelta(days=1, hours=3),
                              T_END + timedelta(hours=2)),
        )  # fmt: skip
    cache = ViewCache()
    for offset in sorted(minutes):  # time passes: the cache is reused, only today again
        now = T_END + timedelta(minutes=offset)
        inputs = inputs_at(cfg, history, now, maintenance)
        assert snapshot_from(inputs, cache) == snapshot_from(inputs)


def test_the_cache_computes_past_days_once_while_only_time_passes(tmp_path: Path) -> None:
    cfg = parse_config(site_config(tmp_path), {})
    start = T_END - timedelta(days=100)
    history = {
        "a1": [
            StateInterval("a1", State.UP, start, T_END - timedelta(days=3)),
            StateInterval("a1", State.DOWN, T_END - timedelta(days=3), T_END - timedelta(days=2)),
            StateInterval("a1", State.UP, T_END - timedelta(days=2), None),
        ],
        "a2": [StateInterval("a2", State.UP, start, None)],
        "b": [StateInterval("b", State.UP, start, None)],
    }
    cache = ViewCache()
    for k in range(5):
        snapshot_from(inputs_at(cfg, history, T_END + timedelta(minutes=k), ()), cache)
    assert cache.computed == 2  # api and web, once
    history["b"] = [
        StateInterval("b", State.UP, start, T_END - timedelta(days=5)),
        StateInterval("b", State.DOWN, T_END - timedelta(days=5), None),
    ]
    snapshot_from(inputs_at(cfg, history, T_END + timedelta(minutes=9), ()), cache)
    assert cache.computed == 3  # web's history changed


@pytest.mark.parametrize(
    "lasts",
    [(None, 50.0, 51.0), (50.0, None, 3000.0), (10.0, 10.5, None)],
    ids=["gap-then-values", "value-gap-new-scale", "values-then-gap"],
)
def test_a_chart_drawn_from_the_memo_is_the_chart_drawn_from_scratch(
    lasts: tuple[float | None, ...],
) -> None:
    loc = Locale("en", "Europe/Oslo")
    start = datetime(2026, 11, 20, 13, tzinfo=UTC)
    base = [
        LatencyPoint(start + timedelta(hours=k), None if k % 29 == 3 else 40.0 + k % 7)
        for k in range(167)
    ]
    memo = ChartMemo()
    for last in lasts:
        for gap_before in (False, True):
            points = [*base[:-1], LatencyPoint(base[-1].at, None if gap_before else 1.0)]
            points.append(LatencyPoint(start + timedelta(hours=167), last))
            assert latency_chart(loc, points, "x", memo) == latency_chart(loc, points, "x")


@pytest.mark.parametrize("moved", [47, 20], ids=["current-hour", "a-closed-hour"])
def test_chart_hours_kept_from_the_last_build_give_the_same_points(moved: int) -> None:
    first = datetime(2026, 11, 25, 0, tzinfo=UTC)
    rows = [("m", first + timedelta(hours=k), 10, 0.05 * k + 0.1) for k in range(48) if k != 7]
    points, mean, counts, sums = latency_series(rows, first, 48)
    rows[moved - 1] = ("m", rows[moved - 1][1], 12, 3.5)
    want = latency_series(rows, first, 48)
    got = latency_series(rows, first, 48, previous=(counts, sums, points))
    assert got == want
    assert got[0] != points and mean is not None


def test_incident_pages_kept_between_builds_are_the_pages_rendered_anew() -> None:
    s = snapshot()
    renderer = PageRenderer()
    first = renderer.render_site(s)
    path = f"incidents/{s.incidents[0].id}.html"
    later = replace(s, generated_at=s.generated_at + timedelta(minutes=1))
    second = renderer.render_site(later)
    assert second == fresh(later)
    assert second[path] != first[path]  # the footer's time
    k = next(k for k, c in enumerate(s.components) if c.id in s.incidents[0].component_ids)
    renamed = with_component(later, k, name="Renamed & moved")
    third = renderer.render_site(renamed)
    assert third == fresh(renamed)
    assert b"Renamed &amp; moved" in third[path]
    resolved = replace(renamed, incidents=(replace(s.incidents[0], title="New title"),))
    assert renderer.render_site(resolved) == fresh(resolved)
