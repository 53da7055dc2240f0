"""Config sections for operations: maintenance (and later SLOs, notifiers)."""

from __future__ import annotations

import pytest

from slamon.config.common import ConfigError
from slamon.config.load import parse_config


def errors_of(data: dict[str, object], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env or {})
    return info.value.errors


MONITORS = [{"id": "api", "type": "tcp", "target": "127.0.0.1:1"}]


def maint(**kw: object) -> dict[str, object]:
    return {"id": "w", "title": "Window", "components": ["api"], **kw}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (maint(), "maintenance[0]: give start and end (one-off) or cron and duration"),
        (maint(cron="0 2 * *", duration="1h"), "maintenance[0].cron: must have five fields"),
        (maint(cron="0 25 * * *", duration="1h"), "maintenance[0].cron: invalid cron"),
        (maint(cron="0 2 * * *"), "maintenance[0].duration: required with cron"),
        (maint(cron="0 2 * * *", duration="10s"), "maintenance[0].duration: must be at least 60s"),
        (
            maint(cron="0 2 * * *", duration="1h", timezone="Mars/Base"),
            "maintenance[0].timezone: unknown IANA time zone 'Mars/Base'",
        ),
        (
            maint(start="2026-10-05T22:00:00Z", end="2026-10-05T21:00:00Z"),
            "maintenance[0].end: must be after start",
        ),
        (
            maint(start="2026-10-05T22:00:00Z", end="2026-10-05T23:00:00Z", duration="1h"),
            "maintenance[0].duration: only with cron",
        ),
        (
            maint(components=["nope"], cron="0 2 * * *", duration="1h"),
            "maintenance[0].components[0]: no component has the id 'nope'",
        ),
    ],
    ids=[
        "neither",
        "cron-fields",
        "cron-value",
        "cron-without-duration",
        "short-duration",
        "zone",
        "end-before-start",
        "duration-on-one-off",
        "unknown-component",
    ],
)
def test_maintenance_errors_name_the_path(entry: dict[str, object], expected: str) -> None:
    errors = errors_of({"monitors": MONITORS, "maintenance": [entry]})
    assert any(e.startswith(expected) for e in errors), errors


def test_duplicate_maintenance_ids() -> None:
    entry = maint(cron="0 2 * * *", duration="1h")
    assert errors_of({"monitors": MONITORS, "maintenance": [entry, entry]}) == [
        "maintenance[1].id: 'w' is already used by maintenance[0]"
    ]


@pytest.mark.parametrize(
    ("slo", "expected"),
    [
        ({"id": "s", "target": 99.9}, "slos[0]: give either component or monitors"),
        (
            {"id": "s", "target": 99.9, "monitors": ["api"], "component": "api"},
            "slos[0]: give either component or monitors",
        ),
        ({"id": "s", "target": 100, "monitors": ["api"]}, "slos[0].target: Input should be less"),
        ({"id": "s", "target": 99, "monitors": ["nope"]}, "slos[0].monitors[0]: no monitor"),
        ({"id": "s", "target": 99, "component": "nope"}, "slos[0].component: no component"),
        ({"id": "s", "target": 99, "monitors": ["api"], "window": "10m"}, "slos[0].window:"),
    ],
    ids=["neither", "both", "target-100", "unknown-monitor", "unknown-component", "window"],
)
def test_slo_errors_name_the_path(slo: dict[str, object], expected: str) -> None:
    errors = errors_of({"monitors": MONITORS, "slos": [slo]})
    assert any(e.startswith(expected) for e in errors), errors


def test_slo_target_is_an_exact_decimal() -> None:
    config = parse_config(
        {"monitors": MONITORS, "slos": [{"id": "s", "target": 99.95, "monitors": ["api"]}]}, {}
    )
    assert str(config.slos[0].target) == "99.95"
