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
