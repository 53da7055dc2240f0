"""SLO status from state intervals: the SRE workbook's burn-rate alerts, by hand.

A 99.9 % SLO over 30 days has a budget of 0.1 %: a burn rate of 14.4 over 1 h means
51.84 s of downtime in that hour (14.4 x 0.001 x 3600). Each case puts one outage of
known length at a known distance before ``now`` on 30 days of otherwise good data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from sla_engine.slis.budget import AlertSeverity
from sla_engine.slis.slo import alert_windows, evaluate_slo, forecast_message, prometheus_duration
from sla_engine.time.states import State, StateInterval

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
DAYS30 = timedelta(days=30)
S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def history(outage: timedelta, ended_ago: timedelta = timedelta(0)) -> list[StateInterval]:
    """Up for 31 days, down for ``outage`` ending ``ended_ago`` before NOW, up since."""
    end = NOW - ended_ago
    start = end - outage
    out = [StateInterval("m", State.UP, NOW - timedelta(days=31), start)]
    out.append(StateInterval("m", State.DOWN, start, end))
    if ended_ago:
        out.append(StateInterval("m", State.UP, end, None))
    return out


CASES = [
    # (outage, ended ago, expected severity, burn over 1h)
    (timedelta(0), timedelta(0), None, Fraction(0)),
    (timedelta(seconds=51.84), timedelta(0), None, Fraction("14.4")),  # exactly 14.4: no page
    (52 * S, timedelta(0), AlertSeverity.PAGE, Fraction(52, 36) * 10),
    # 140 s ending 17m40s ago: 5m clean, so not the 1h/5m rule; 6h 6.48x, 30m 77.8x.
    (140 * S, 17 * M + 40 * S, AlertSeverity.PAGE, Fraction(140, 36) * 10),
    # 300 s ending 5 h ago: 1h and 30m clean; 3d 1.157x, 6h 13.9x: ticket.
    (300 * S, 5 * H, AlertSeverity.TICKET, Fraction(0)),
    # exactly 259.2 s in 3 days is a burn of exactly 1: no ticket.
    (timedelta(seconds=259.2), 5 * H, None, Fraction(0)),
]
IDS = ["clean", "exactly-14.4", "just-over-14.4", "6h-30m-rule", "ticket", "exactly-1-over-3d"]


@pytest.mark.parametrize(("outage", "ago", "severity", "burn_1h"), CASES, ids=IDS)
def test_workbook_cases(
    outage: timedelta, ago: timedelta, severity: AlertSeverity | None, burn_1h: Fraction
) -> None:
    status = evaluate_slo({"m": history(outage, ago)}, ["m"], Decimal("99.9"), DAYS30, NOW)
    assert status.alert is not None
    assert status.alert.severity is severity
    assert status.burn_rates[H] == burn_1h
    assert sorted(status.burn_rates) == [5 * M, 30 * M, H, 6 * H, timedelta(days=3)]


def test_exactly_at_threshold_is_not_firing_rule_by_rule() -> None:
    status = evaluate_slo(
        {"m": history(timedelta(seconds=51.84))}, ["m"], Decimal("99.9"), DAYS30, NOW
    )
    assert status.alert is not None
    first = status.alert.evaluations[0]
    assert (first.rule.threshold, first.long_burn) == (Decimal("14.4"), Fraction("14.4"))
    assert first.short_burn == Fraction("172.8")
    assert not first.firing


def test_budget_forecast_and_message() -> None:
    # 1296 s down (half the 2592 s budget), still down now: the budget is burning.
    status = evaluate_slo({"m": history(1296 * S)}, ["m"], Decimal("99.9"), DAYS30, NOW)
    assert status.budget_remaining == Fraction(1, 2)
    assert not status.breached
    assert status.forecast_window == 6 * H
    # 6h burn = 1296 / 21.6 = 60x; half a 720 h budget at 60x lasts 6 h.
    assert status.burn_rates[6 * H] == 60
    assert status.forecast is not None and status.forecast.hours == 6
    assert forecast_message("the SLA of contract acme", status.forecast) == (
        "at the current burn rate the SLA of contract acme is breached in about 6 hours"
    )
    assert forecast_message(
        "the SLA of contract acme", status.forecast, (Decimal("1250.00"), "EUR")
    ) == (
        "at the current burn rate the SLA of contract acme is breached in about 6 hours; "
        "credits at risk: 1250.00 EUR"
    )
    over = evaluate_slo({"m": history(2593 * S)}, ["m"], Decimal("99.9"), DAYS30, NOW)
    assert over.breached
    assert over.forecast is not None
    assert forecast_message("SLO api", over.forecast) == "SLO api is already breached"
    clean = evaluate_slo({"m": history(timedelta(0))}, ["m"], Decimal("99.9"), DAYS30, NOW)
    assert clean.forecast is not None and forecast_message("x", clean.forecast) is None


def test_component_quorum_and_maintenance() -> None:
    # Two monitors; one down for 10 min. Worst-of: the SLO sees downtime; quorum 2: none.
    start = NOW - timedelta(days=31)
    a = [StateInterval("a", State.UP, start, None)]
    b = [
        StateInterval("b", State.UP, start, NOW - 10 * M),
        StateInterval("b", State.DOWN, NOW - 10 * M, None),
    ]
    worst = evaluate_slo({"a": a, "b": b}, ["a", "b"], Decimal("99.9"), DAYS30, NOW)
    assert worst.availability.bad == 600
    quorum = evaluate_slo({"a": a, "b": b}, ["a", "b"], Decimal("99.9"), DAYS30, NOW, quorum=2)
    assert quorum.availability.bad == 0
    # Maintenance time leaves the total; it is not downtime.
    m = [
        StateInterval("m", State.UP, start, NOW - H),
        StateInterval("m", State.MAINTENANCE, NOW - H, None),
    ]
    status = evaluate_slo({"m": m}, ["m"], Decimal("99.9"), DAYS30, NOW)
    assert status.availability.bad == 0
    assert status.availability.total == (DAYS30 - H).total_seconds()
    assert status.burn_rates[H] == 0


def test_scaled_windows_and_their_names() -> None:
    assert [prometheus_duration(w) for w in alert_windows(DAYS30)] == [
        "5m",
        "30m",
        "1h",
        "6h",
        "3d",
    ]
    assert [prometheus_duration(w) for w in alert_windows(timedelta(days=28))] == [
        "4m40s",
        "28m",
        "56m",
        "5h36m",
        "2d19h12m",
    ]
