"""Error budgets, burn rates, multiwindow burn-rate alerts and breach forecasts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    UnknownPolicy,
    compute_availability,
    timeline_from_spans,
)
from sla_engine.slis.budget import (
    AlertSeverity,
    ErrorBudget,
    burn_rate,
    error_budget,
    evaluate_burn_alerts,
    forecast_breach,
    multiwindow_rules,
)
from sla_engine.time.intervals import Interval

T0 = datetime(2026, 6, 1, tzinfo=UTC)
MONTH = Interval(T0, T0 + timedelta(days=30))
SECONDS = AccountingTerms(accounting=Accounting.SECONDS, unknown=UnknownPolicy.DOWN)


def month_with_downtime(seconds: int) -> ErrorBudget:
    outage = Interval(T0, T0 + timedelta(seconds=seconds))
    availability = compute_availability(timeline_from_spans([outage]), MONTH, SECONDS)
    return error_budget(availability, Decimal("99.9"))


@pytest.mark.parametrize(
    ("downtime", "remaining", "percent", "breached"),
    [
        (0, Decimal(2592), "100.000000", False),
        (1296, Decimal(1296), "50.000000", False),
        (2592, Decimal(0), "0.000000", False),
        (2593, Decimal(-1), "-0.038580", True),
        (2700, Decimal(-108), "-4.166667", True),
    ],
    ids=["untouched", "half", "exactly-spent", "one-second-over", "vector-P1"],
)
def test_error_budget(downtime: int, remaining: Decimal, percent: str, breached: bool) -> None:
    budget = month_with_downtime(downtime)
    assert budget.budget == 2592
    assert budget.remaining == remaining
    assert str(budget.remaining_percent()) == percent
    assert budget.breached is breached


@pytest.mark.parametrize(
    ("consumed", "breached"), [(0, False), (1, True)], ids=["no-downtime", "one-second"]
)
def test_target_100_has_no_budget(consumed: int, breached: bool) -> None:
    budget = ErrorBudget(Decimal(100), Decimal(2592000), Decimal(consumed))
    assert budget.budget == 0
    assert budget.remaining == -consumed
    assert budget.remaining_share is None
    assert budget.remaining_percent() is None
    assert budget.breached is breached
    with pytest.raises(ValueError, match="no error budget to burn"):
        burn_rate(Fraction(consumed, 2592000), Decimal(100))


def test_target_validation() -> None:
    with pytest.raises(TypeError, match="Decimal percent"):
        ErrorBudget(99.9, Decimal(1), Decimal(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="within \\[0, 100\\]"):
        ErrorBudget(Decimal("100.1"), Decimal(1), Decimal(0))
    with pytest.raises(ValueError, match=">= 0"):
        ErrorBudget(Decimal(99), Decimal(1), Decimal(-1))


@pytest.mark.parametrize(
    ("bad", "target", "rate"),
    [
        (Fraction(1, 1000), "99.9", Fraction(1)),
        (Fraction(0), "99.9", Fraction(0)),
        (Fraction(144, 10000), "99.9", Fraction(144, 10)),
        (Fraction(1), "99", Fraction(100)),
        (Fraction(1, 2), "0", Fraction(1, 2)),
    ],
    ids=["exactly-on-budget", "no-errors", "fast-14.4", "all-bad", "target-0"],
)
def test_burn_rate(bad: Fraction, target: str, rate: Fraction) -> None:
    assert burn_rate(bad, Decimal(target)) == rate


def test_multiwindow_rules_for_30_days() -> None:
    rules = multiwindow_rules()
    assert [(r.severity, r.long_window, r.short_window, str(r.threshold)) for r in rules] == [
        (AlertSeverity.PAGE, timedelta(hours=1), timedelta(minutes=5), "14.4"),
        (AlertSeverity.PAGE, timedelta(hours=6), timedelta(minutes=30), "6"),
        (AlertSeverity.TICKET, timedelta(days=3), timedelta(hours=6), "1"),
    ]


def test_multiwindow_rules_scale_windows_not_thresholds() -> None:
    rules = multiwindow_rules(timedelta(days=28))
    assert [r.long_window for r in rules] == [
        timedelta(minutes=56),
        timedelta(hours=5, minutes=36),
        timedelta(days=2, hours=19, minutes=12),
    ]
    assert [r.short_window for r in rules] == [
        timedelta(minutes=4, seconds=40),
        timedelta(minutes=28),
        timedelta(hours=5, minutes=36),
    ]
    assert [str(r.threshold) for r in rules] == ["14.4", "6", "1"]
    assert [str(r.budget_share) for r in rules] == ["0.02", "0.05", "0.10"]


def rates(**by_window: Fraction) -> dict[timedelta, Fraction]:
    names = {
        "h1": timedelta(hours=1),
        "m5": timedelta(minutes=5),
        "h6": timedelta(hours=6),
        "m30": timedelta(minutes=30),
        "d3": timedelta(days=3),
    }
    out = dict.fromkeys(names.values(), Fraction(0))
    out |= {names[k]: v for k, v in by_window.items()}
    return out


JUST_ABOVE_14_4 = Fraction(144, 10) + Fraction(1, 10**9)


@pytest.mark.parametrize(
    ("burns", "severity"),
    [
        (rates(), None),
        (rates(h1=Fraction(144, 10), m5=Fraction(144, 10)), None),
        (rates(h1=JUST_ABOVE_14_4, m5=JUST_ABOVE_14_4), AlertSeverity.PAGE),
        (rates(h1=Fraction(100), m5=Fraction(144, 10)), None),
        (rates(h1=Fraction(144, 10), m5=Fraction(100)), None),
        (rates(h6=Fraction(6), m30=Fraction(7)), None),
        (rates(h6=Fraction(61, 10), m30=Fraction(7)), AlertSeverity.PAGE),
        (rates(d3=Fraction(1), h6=Fraction(2)), None),
        (rates(d3=Fraction(11, 10), h6=Fraction(2)), AlertSeverity.TICKET),
        (
            rates(h1=Fraction(15), m5=Fraction(15), d3=Fraction(2), h6=Fraction(2)),
            AlertSeverity.PAGE,
        ),
    ],
    ids=[
        "quiet",
        "exactly-14.4-no-page",
        "just-above-14.4-pages",
        "short-window-not-above",
        "long-window-not-above",
        "exactly-6-no-page",
        "above-6-pages",
        "exactly-1-no-ticket",
        "above-1-tickets",
        "page-beats-ticket",
    ],
)
def test_multiwindow_alert(burns: dict[timedelta, Fraction], severity: AlertSeverity) -> None:
    assert evaluate_burn_alerts(burns).severity is severity


def test_burn_of_exactly_14_4_from_availability_does_not_page() -> None:
    """0.0144 of an hour bad at 99.9 % is a burn of exactly 14.4: exact arithmetic, no page."""
    hour = Interval(T0, T0 + timedelta(hours=1))
    outage = Interval(T0, T0 + timedelta(microseconds=51_840_000))  # 0.0144 h
    got = compute_availability(timeline_from_spans([outage]), hour, SECONDS)
    rate = burn_rate(got.bad_fraction, Decimal("99.9"))
    assert rate == Fraction(144, 10)
    burns = rates(h1=rate, m5=rate)
    assert evaluate_burn_alerts(burns).severity is None
    assert evaluate_burn_alerts(rates(h1=rate, m5=rate + Fraction(1, 10**6))).severity is None
    above = rate + Fraction(1, 10**6)
    assert evaluate_burn_alerts(rates(h1=above, m5=above)).severity is AlertSeverity.PAGE


def test_missing_window_is_named() -> None:
    with pytest.raises(ValueError, match="0:05:00"):
        evaluate_burn_alerts({timedelta(hours=1): Fraction(20)})


@pytest.mark.parametrize(
    ("share", "rate", "hours"),
    [
        (Fraction(1), Fraction(1), Fraction(720)),
        (Fraction(1, 2), Fraction(2), Fraction(180)),
        (Fraction(1, 10), Fraction(144, 10), Fraction(5)),
        (Fraction(0), Fraction(3), Fraction(0)),
        (Fraction(-1, 2), Fraction(3), Fraction(0)),
        (Fraction(1, 2), Fraction(0), None),
    ],
    ids=["full-at-1", "half-at-2", "tenth-at-14.4", "spent", "overspent", "not-burning"],
)
def test_forecast_breach(share: Fraction, rate: Fraction, hours: Fraction | None) -> None:
    forecast = forecast_breach(share, rate)
    assert forecast.hours == hours
    now = datetime(2026, 6, 10, tzinfo=UTC)
    if hours is None:
        assert forecast.time_left is None
        assert forecast.breach_at(now) is None
    else:
        assert forecast.breach_at(now) == now + timedelta(hours=int(hours))
