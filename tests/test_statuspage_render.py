"""The status page rendered from a fixed snapshot: golden HTML, escaping, no leaks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sla_engine.states import State
from statuspage.render import PageRenderer
from statuspage.snapshot import MonitorView, PageSnapshot, Uptime

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def snapshot(**overrides: object) -> PageSnapshot:
    uptimes = (
        Uptime("24 h", Decimal("100"), 0, 0),
        Uptime("30 days", Decimal("99.95370370370370370370370370"), 1200, 0),
        Uptime("90 days", None, 0, 7776000),
    )
    base: dict[str, object] = {
        "title": "Example status",
        "description": "Everything we run",
        "timezone": "Europe/Oslo",
        "generated_at": NOW,
        "monitors": (
            MonitorView(
                "api",
                "Public API",
                "REST and GraphQL",
                State.UP,
                datetime(2026, 11, 20, 3, 4, tzinfo=UTC),
                uptimes,
            ),
            MonitorView(
                "web",
                "Website",
                "",
                State.DOWN,
                datetime(2026, 11, 27, 11, 50, tzinfo=UTC),
                uptimes,
            ),
        ),
    }
    base.update(overrides)
    return PageSnapshot(**base)  # type: ignore[arg-type]


def test_golden_html() -> None:
    from tests.golden_files import assert_golden

    assert_golden("index.html", PageRenderer().render_index(snapshot()))


def test_figures_truncate_and_times_are_local() -> None:
    html = PageRenderer().render_index(snapshot())
    assert "99.953%" in html  # truncated, never rounded up
    assert "no data" in html
    assert "2026-11-20 04:04 CET" in html
    assert "Major outage" in html


def test_text_from_config_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    snap = snapshot(
        title=evil,
        description=evil,
        monitors=(MonitorView("x", evil, evil, State.UP, None, (Uptime(evil, None, 0, 0),)),),
    )
    html = PageRenderer().render_index(snap)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
