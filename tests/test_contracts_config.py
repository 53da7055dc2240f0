"""[[contracts]] in config.toml: exact decimals only, every error names its TOML path."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from sla_engine.contracts import PeriodRule, SLIKind
from slamon.config.common import ConfigError
from slamon.config.load import parse_config

MONITORS = [
    {"id": "api-eu", "type": "http", "target": "http://127.0.0.1/"},
    {"id": "api-us", "type": "http", "target": "http://127.0.0.1/"},
]
COMPONENTS = [{"id": "api", "name": "API", "monitors": ["api-eu", "api-us"]}]


def contract(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "acme-api",
        "customer": "ACME Corp",
        "customer_id": "C-1001",
        "components": ["api"],
        "target": "99.9",
        "unknown": "exclude",
        "monthly_fee": "999.95",
        "currency": "EUR",
        "tiers": [{"below": "99.9", "credit_percent": 10}, {"below": "99", "credit_percent": 25}],
    }
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def load(*contracts: dict[str, Any]) -> Any:
    return parse_config(
        {"monitors": MONITORS, "components": COMPONENTS, "contracts": list(contracts)}, {}
    )


def errors_of(*contracts: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(*contracts)
    return info.value.errors


def test_a_full_contract_becomes_an_engine_value() -> None:
    c = (
        load(
            contract(
                timezone="Europe/Oslo",
                period="quarter",
                accounting="minutes_full",
                min_downtime_minutes=5,
                maintenance="exclude_from_total",
                credit_cap_percent="50",
                rounding="half_even",
            )
        )
        .contracts[0]
        .to_contract()
    )
    assert (c.id, c.customer_id, c.customer_name, c.components) == (
        "acme-api",
        "C-1001",
        "ACME Corp",
        ("api",),
    )
    assert c.period is PeriodRule.QUARTER and c.tz == "Europe/Oslo"
    assert c.terms.min_downtime_minutes == 5
    assert c.credit.monthly_fee == Decimal("999.95")
    assert c.credit.cap_percent == Decimal(50)
    assert c.credit.rounding == "ROUND_HALF_EVEN"
    assert [t.below for t in c.credit.tiers] == [Decimal("99.9"), Decimal(99)]


def test_latency_response_and_rolling_contracts() -> None:
    latency, response, slo = load(
        contract(sli="latency", percentile="95", latency_limit="500ms"),
        contract(id="r", sli="incident_response", acknowledge_within="15m", resolve_within="4h"),
        contract(
            id="slo",
            period="rolling",
            window="30d",
            monthly_fee=None,
            currency=None,
            tiers=None,
            monitors=["api-eu"],
            components=None,
        ),
    ).contracts
    lat = latency.to_contract()
    assert lat.sli is SLIKind.LATENCY and lat.latency is not None
    assert lat.latency.limit_seconds == Decimal("0.5")
    res = response.to_contract().response
    assert res is not None and res.acknowledge == timedelta(minutes=15)
    rolling = slo.to_contract()
    assert rolling.window == timedelta(days=30)
    assert rolling.credit.monthly_fee == 0


FLOAT = "write decimals as strings"


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"monthly_fee": 999.95}, f'contracts[0].monthly_fee: {FLOAT}, e.g. "999.95"'),
        ({"target": 99.9}, f"contracts[0].target: {FLOAT}"),
        (
            {"tiers": [{"below": 99.9, "credit_percent": 10}]},
            f"contracts[0].tiers[0].below: {FLOAT}",
        ),
        (
            {"tiers": [{"below": "99.9", "credit_percent": 12.5}]},
            f"contracts[0].tiers[0].credit_percent: {FLOAT}",
        ),
        ({"credit_cap_percent": 50.0}, f"contracts[0].credit_cap_percent: {FLOAT}"),
        ({"monthly_fee": "12,50"}, "contracts[0].monthly_fee: not a decimal number: '12,50'"),
        (
            {"monthly_fee": "-1"},
            "contracts[0].monthly_fee: Input should be greater than or equal to 0",
        ),
        ({"target": "100.5"}, "contracts[0].target: must be a percent within 0..100"),
        ({"unknown": None}, "contracts[0].unknown: required: say how time without data counts"),
        ({"unknown": "maybe"}, "contracts[0].unknown: Input should be 'up', 'down' or 'exclude'"),
        ({"currency": "eur"}, "contracts[0].currency: currency codes are upper case"),
        ({"currency": "XYZ"}, "contracts[0].currency: unknown ISO 4217 currency code 'XYZ'"),
        ({"currency": None}, "contracts[0].monthly_fee: a customer contract needs monthly_fee"),
        ({"timezone": "Mars/Olympus"}, "contracts[0].timezone: unknown IANA time zone"),
        ({"period": "week"}, "contracts[0].period: Input should be"),
        ({"period": "rolling"}, "contracts[0].window: a rolling period needs a window"),
        ({"window": "30d"}, "contracts[0].window: only a rolling period has a window"),
        ({"accounting": "hours"}, "contracts[0].accounting: Input should be"),
        (
            {"min_downtime_minutes": 5},
            "contracts[0].min_downtime_minutes: applies only to minutes_full",
        ),
        ({"sli": "latency"}, "contracts[0].percentile: a latency SLI needs percentile"),
        ({"percentile": "95"}, "contracts[0].percentile: percentile and latency_limit go with"),
        ({"sli": "incident_response"}, "contracts[0].acknowledge_within: an incident_response SLI"),
        ({"components": None}, "contracts[0].components: name the components or monitors"),
        ({"components": ["web"]}, "contracts[0].components[0]: no component has the id 'web'"),
        ({"monitors": ["db"]}, "contracts[0].monitors[0]: no monitor has the id 'db'"),
        (
            {
                "tiers": [
                    {"below": "99.9", "credit_percent": 25},
                    {"below": "99", "credit_percent": 10},
                ]
            },
            "contracts[0].tiers: tier below 99 gives less credit",
        ),
        (
            {"tiers": [{"below": "101", "credit_percent": 10}]},
            "contracts[0].tiers[0].below: must be a percent within 0..100",
        ),
        (
            {"tiers": [{"below": "0", "credit_percent": 10}]},
            "contracts[0].tiers[0].below: a tier threshold must be above 0",
        ),
        ({"rounding": "bankers"}, "contracts[0].rounding: Input should be 'half_up'"),
        ({"colour": "red"}, "contracts[0].colour: unknown key"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_error_names_the_toml_path(kw: dict[str, Any], expected: str) -> None:
    errors = errors_of(contract(**kw))
    assert any(e.startswith(expected) for e in errors), errors


def test_duplicate_contract_ids() -> None:
    assert errors_of(contract(), contract()) == [
        "contracts[1].id: 'acme-api' is already used by contracts[0]"
    ]
