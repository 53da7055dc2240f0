"""Contract breach forecasts: hand-computed from a real store, and the alert they raise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from sla_engine.time.states import State
from slamon.alerting.alerts import Alerts, evaluate_contract_forecasts
from slamon.alerting.forecasts import forecast_contracts
from slamon.config.load import parse_config
from slamon.events import AlertName
from slamon.store.sql import IntervalChange, Store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)


def config(down_minutes: int):  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "monitors": [{"id": "api", "type": "http", "target": "http://127.0.0.1/"}],
            "contracts": [
                {
                    "id": "acme-gold",
                    "customer": "ACME",
                    "customer_id": "C-1",
                    "monitors": ["api"],
                    "target": "99.9",
                    "timezone": "UTC",
                    "accounting": "seconds",
                    "unknown": "exclude",
                    "tiers": [
                        {"below": "99.9", "credit_percent": 10},
                        {"below": "99", "credit_percent": 25},
                    ],
                    "monthly_fee": "1000.00",
                    "currency": "EUR",
                }
            ],
        },
        {},
    )


async def history(store: Store, down_minutes: int) -> None:
    changes = [IntervalChange("api", State.UP, NOV)]
    if down_minutes:
        changes.append(IntervalChange("api", State.DOWN, NOW - timedelta(minutes=down_minutes)))
    await store.write_batch([], changes, {})


async def test_thirty_minutes_down_breaches_in_about_three_hours(store: Store) -> None:
    await history(store, 30)
    [f] = await forecast_contracts(config(30), store, NOW)
    # November has 2,592,000 s; a 99.9 % budget is 2,592 s; 1,800 s are spent.
    assert f.forecast.remaining_share == Fraction(2592 - 1800, 2592)
    # The last 6 h: 1,800 s of 21,600 s bad, over an allowed 0.1 %: burn rate 83 1/3.
    assert f.forecast.burn_rate == Fraction(1800, 21600) / Fraction(1, 1000)
    hours = Fraction(792, 2592) * 720 / (Fraction(250, 3))
    assert f.forecast.hours == hours  # 2.64 h
    assert f.breach_at == NOW + timedelta(microseconds=int(hours * 3_600_000_000))
    assert f.breaches_this_period
    assert (f.credit_at_risk, f.currency) == (Decimal("100.00"), "EUR")
    assert f.message() == (
        "at the current burn rate the SLA of contract acme-gold (ACME) is breached in "
        "about 3 hours; credits at risk: 100.00 EUR"
    )

    alerts = Alerts(lambda alert: None)
    evaluate_contract_forecasts(alerts, [f], NOW, forecast_horizon=timedelta(hours=72))
    [alert] = alerts.active.values()
    assert alert.labels["alertname"] == AlertName.CONTRACT_BREACH_FORECAST
    assert alert.labels["contract"] == "acme-gold"
    assert "credits at risk: 100.00 EUR" in alert.annotations["description"]

    # Outside the horizon the ticket resolves.
    evaluate_contract_forecasts(alerts, [f], NOW, forecast_horizon=timedelta(hours=2))
    assert not alerts.active


@pytest.mark.parametrize(
    ("down_minutes", "hours", "breaches"),
    [(0, None, False), (60, Fraction(0), True)],
    ids=["healthy-not-burning", "already-breached"],
)
async def test_no_burn_and_already_breached(
    store: Store, down_minutes: int, hours: Fraction | None, breaches: bool
) -> None:
    await history(store, down_minutes)
    [f] = await forecast_contracts(config(down_minutes), store, NOW)
    assert f.forecast.hours == hours
    assert f.breaches_this_period is breaches
    if hours is None:
        assert f.message() is None
    else:
        assert f.message() == (
            "the SLA of contract acme-gold (ACME) is already breached; credits at risk: 100.00 EUR"
        )
