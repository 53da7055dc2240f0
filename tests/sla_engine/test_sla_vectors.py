"""Every hand-checked vector in tests/data/sla_vectors.json, through the public API."""

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sla_engine.accounting.availability import (
    AccountingTerms,
    UnknownPolicy,
    compute_availability,
    timeline_from_spans,
)
from sla_engine.money.credits import CreditTerms, Tier, compute_credit
from sla_engine.reports.explain import explain_credit
from sla_engine.slis.budget import error_budget
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import period_containing

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "data" / "sla_vectors.json").read_text()
)


def spans(pairs: list[list[str]]) -> list[Interval]:
    return [Interval(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in pairs]


def accounting_terms(v: dict[str, Any]) -> AccountingTerms:
    return AccountingTerms(
        accounting=v["accounting"],
        # The vectors have no unknown time; the policy must not matter.
        unknown=UnknownPolicy.EXCLUDE,
        maintenance=v.get("maintenance_convention", "count_as_up"),
        min_downtime_minutes=v["min_downtime_minutes"],
    )


def credit_terms(v: dict[str, Any]) -> CreditTerms:
    cap = v.get("credit_cap_percent")
    return CreditTerms(
        tiers=tuple(Tier(Decimal(t["below"]), Decimal(t["credit_percent"])) for t in v["tiers"]),
        cap_percent=None if cap is None else Decimal(str(cap)),
        monthly_fee=Decimal(v["monthly_fee"]),
        currency=v["currency"],
    )


def window(v: dict[str, Any]) -> Interval:
    return Interval(
        datetime.fromisoformat(v["period"]["start"]), datetime.fromisoformat(v["period"]["end"])
    )


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(v: dict[str, Any]) -> None:
    expected = v["expected"]
    timeline = timeline_from_spans(spans(v["outages"]), spans(v["maintenance"]))
    availability = compute_availability(timeline, window(v), accounting_terms(v))
    budget = error_budget(availability, Decimal(v["target"]))
    credit = compute_credit(availability, credit_terms(v))

    if "total_seconds" in expected:
        assert availability.unit == "seconds"
        assert availability.total == expected["total_seconds"]
        assert availability.bad == expected["downtime_seconds"]
    else:
        assert availability.unit == "minutes"
        assert availability.total == expected["total_minutes"]
        assert availability.bad == expected["bad_minutes"]
    assert str(availability.percent_rounded(6)) == expected["availability_percent"]
    assert str(budget.remaining_percent(6)) == expected["error_budget_remaining_percent"]
    assert credit.credit_percent == Decimal(str(expected["credit_percent"]))
    assert str(credit.amount) == expected["credit_amount"]
    assert set(expected) <= {
        "total_seconds",
        "downtime_seconds",
        "total_minutes",
        "bad_minutes",
        "availability_percent",
        "error_budget_remaining_percent",
        "credit_percent",
        "credit_amount",
    }, "a new expected field is not checked here"


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_period_is_the_calendar_month(v: dict[str, Any]) -> None:
    period = period_containing(window(v).start, v["period"]["tz"])
    assert period.interval == window(v)


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_explanation_agrees(v: dict[str, Any]) -> None:
    period = period_containing(window(v).start, v["period"]["tz"])
    timeline = timeline_from_spans(spans(v["outages"]), spans(v["maintenance"]))
    explanation = explain_credit(
        period, timeline, accounting_terms(v), credit_terms(v), target=Decimal(v["target"])
    )
    expected = v["expected"]
    text = explanation.text
    assert f"= {expected['availability_percent']} %" in text
    assert f"Amount owed: {expected['credit_amount']} {v['currency']}" in text
    assert f"= {expected['error_budget_remaining_percent']} % of the budget" in text
    assert explanation.credit.amount == Decimal(expected["credit_amount"])
