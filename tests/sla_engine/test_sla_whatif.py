"""The what-if calculator reproduces every vector's expected fields, and refuses bad input."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sla_engine.reports.whatif import EXPECTED_FIELDS, CaseError, evaluate_case

DATA = Path(__file__).parents[1] / "data"
VECTORS: list[dict[str, Any]] = json.loads(
    (DATA / "sla_vectors.json").read_text(), parse_float=Decimal
)
OWN: list[dict[str, Any]] = json.loads(
    (DATA / "whatif_cases.json").read_text(), parse_float=Decimal
)


@pytest.mark.parametrize("case", VECTORS + OWN, ids=[c["id"] for c in VECTORS + OWN])
def test_case_gives_the_expected_fields(case: dict[str, Any]) -> None:
    got = evaluate_case(case)
    assert got.id == case["id"]
    assert got.fields == case["expected"]
    assert set(got.fields) <= set(EXPECTED_FIELDS)
    assert got.lines[0] == "Service credit explanation"


def base(**changes: Any) -> dict[str, Any]:
    case = json.loads(json.dumps(VECTORS[0], default=str))
    case.update(changes)
    return case


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"monthly_fee": 999.95}, "monthly_fee: got the float 999.95"),
        ({"currency": "eur"}, "currency codes are upper case"),
        (
            {"period": {"start": "2026-06-01T00:00:00", "end": "2026-07-01T00:00:00+00:00"}},
            "period.start: needs a UTC offset",
        ),
        ({"outages": [["2026-06-03T09:00:00+00:00"]]}, "outages[0]: expected a [start, end] pair"),
        (
            {"unknown": [["2026-06-03T09:00:00+00:00", "2026-06-03T10:00:00+00:00"]]},
            "unknown_policy: required with unknown spans",
        ),
        ({"accounting": "hours"}, "'hours' is not a valid Accounting"),
        ({"target": "101"}, "target must be a percent within [0, 100]"),
        (
            {
                "exclusions": [
                    {
                        "start": "2026-06-03T08:15:00+00:00",
                        "end": "2026-06-03T09:00:00+00:00",
                        "reason": " ",
                        "kind": "customer_caused",
                    }
                ]
            },
            "an exclusion needs a reason",
        ),
    ],
    ids=[
        "float-fee",
        "currency",
        "naive",
        "pair",
        "unknown-policy",
        "accounting",
        "target",
        "reason",
    ],
)
def test_bad_cases_name_the_case_and_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(CaseError) as info:
        evaluate_case(base(**changes), 4)
    assert str(info.value).startswith("case 4 (P1): ")
    assert message in str(info.value)


# --- issue 13, defects 2-5: every bad input is a CaseError naming the case and field ---


def test_an_empty_exclusion_excludes_nothing_and_is_explained() -> None:
    # Defect 2: an exclusion whose start equals its end crashed the explanation.
    at = "2026-06-03T08:30:00+00:00"
    case = base(exclusions=[{"start": at, "end": at, "reason": "typo", "kind": "force_majeure"}])
    got = evaluate_case(case)
    assert got.fields == VECTORS[0]["expected"]
    assert "Exclusions (not downtime, stay in the total): 0 s" in got.lines


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([{"below": "120", "credit_percent": 10}], "tiers[0].below: must be a percent in (0, 100]"),
        ([{"below": "0", "credit_percent": 10}], "tiers[0].below: must be a percent in (0, 100]"),
        (
            [{"below": "99", "credit_percent": 10}, {"below": "-1", "credit_percent": 10}],
            "tiers[1].below: must be a percent in (0, 100]",
        ),
        ([{"below": "99", "credit_percent": "-5"}], "tiers[0].credit_percent: must be >= 0"),
        ([{"below": "99"}], "tiers[0].credit_percent: expected a decimal number"),
    ],
    ids=["over-100", "zero", "negative", "negative-credit", "missing-credit"],
)
def test_a_tier_outside_the_percent_range_is_a_case_error(
    tiers: list[dict[str, Any]], message: str
) -> None:
    # Defect 3: a tier below outside (0, 100] ended in a traceback (a bare ValueError).
    with pytest.raises(CaseError) as info:
        evaluate_case(base(tiers=tiers), 2)
    assert str(info.value).startswith("case 2 (P1): ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"credit_cap": "10"}, "credit_cap: unknown key (did you mean 'credit_cap_percent'?)"),
        (
            {"tiers": [{"below": "99", "credit_percent": 10, "cap": 5}]},
            "tiers[0].cap: unknown key",
        ),
        (
            {
                "period": {
                    "start": "2026-06-01T00:00:00+00:00",
                    "end": "2026-07-01T00:00:00+00:00",
                    "timezone": "Europe/Oslo",
                }
            },
            "period.timezone: unknown key; known keys: end, start, tz",
        ),
        (
            {
                "exclusions": [
                    {
                        "start": "2026-06-03T08:15:00+00:00",
                        "end": "2026-06-03T09:00:00+00:00",
                        "reason": "storm",
                        "kind": "force_majeure",
                        "by": "alice",
                    }
                ]
            },
            "exclusions[0].by: unknown key",
        ),
        ({"maintenance_policy": "count_as_up"}, "maintenance_policy: unknown key"),
    ],
    ids=["case", "tier", "period", "exclusion", "policy"],
)
def test_unknown_keys_are_refused(changes: dict[str, Any], message: str) -> None:
    # Defect 4: a misspelled cap was silently ignored, so the credit was uncapped.
    with pytest.raises(CaseError) as info:
        evaluate_case(base(**changes), 0)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("rounding", "amount"),
    [
        ("half_up", "0.01"),
        ("half_even", "0.00"),
        ("half_down", "0.00"),
        ("up", "0.01"),
        ("down", "0.00"),
        ("ceiling", "0.01"),
        ("floor", "0.00"),
        ("ROUND_HALF_UP", "0.01"),
    ],
)
def test_rounding_is_spelled_as_in_the_readme(rounding: str, amount: str) -> None:
    # Defect 5: README and [[contracts]] say half_even, what-if only took ROUND_HALF_EVEN.
    case = base(monthly_fee="0.05", rounding=rounding)
    got = evaluate_case(case)
    assert got.fields["credit_amount"] == amount
    name = rounding.removeprefix("ROUND_").lower()
    assert f"Amount owed: {amount} EUR (rounded once, {name}, to 2 decimals)" in got.lines


def test_an_unknown_rounding_names_the_readme_spellings() -> None:
    with pytest.raises(CaseError, match="rounding: unknown rounding rule 'nearest'; expected one"):
        evaluate_case(base(rounding="nearest"))
