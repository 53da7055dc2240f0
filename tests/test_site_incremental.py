"""Rebuilding the status site renders and writes only what changed, and the same bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sla_engine.time.states import State
from slamon.site.folder import write_site
from statuspage.render import PageRenderer
from statuspage.snapshot import LatencyPoint, PageSnapshot
from tests.statuspage_samples import big_snapshot


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
