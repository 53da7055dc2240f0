"""Exact rounding of fractions and the ISO 4217 minor-unit table."""

from decimal import (
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
    localcontext,
)
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.money.currencies import minor_units
from sla_engine.money.rounding import ROUNDING_RULES, exact_decimal, quantize


@pytest.mark.parametrize(
    ("value", "places", "rounding", "expected"),
    [
        (Decimal("0.005"), 2, ROUND_HALF_UP, "0.01"),
        (Decimal("0.015"), 2, ROUND_HALF_EVEN, "0.02"),
        (Decimal("0.025"), 2, ROUND_HALF_EVEN, "0.02"),
        (Decimal("0.025"), 2, ROUND_HALF_DOWN, "0.02"),
        (Decimal("-0.125"), 2, ROUND_HALF_UP, "-0.13"),
        (Decimal("-0.001"), 2, ROUND_HALF_UP, "0.00"),
        (Fraction(2, 3), 6, ROUND_HALF_UP, "0.666667"),
        (Fraction(2, 3), 6, ROUND_DOWN, "0.666666"),
        (Fraction(-2, 3), 0, ROUND_FLOOR, "-1"),
        (Fraction(99995, 1000), 2, ROUND_HALF_UP, "100.00"),
        # Just below a tie must not round up, however close.
        (Fraction(5 * 10**30 - 1, 10**33), 2, ROUND_HALF_UP, "0.00"),
        (7, 2, ROUND_HALF_UP, "7.00"),
    ],
    ids=[
        "half-up-0.005",
        "half-even-0.015",
        "half-even-0.025",
        "half-down-0.025",
        "negative-half-up",
        "negative-zero-is-zero",
        "two-thirds",
        "two-thirds-down",
        "floor-negative",
        "money-99.995",
        "just-below-tie",
        "integer",
    ],
)
def test_quantize(
    value: Fraction | Decimal | int, places: int, rounding: str, expected: str
) -> None:
    assert str(quantize(value, places, rounding)) == expected


@settings(deadline=None, max_examples=200)
@given(
    value=st.decimals(min_value=-(10**9), max_value=10**9, places=8, allow_nan=False),
    places=st.integers(0, 6),
    rounding=st.sampled_from(sorted(ROUNDING_RULES)),
)
def test_quantize_agrees_with_decimal_on_decimals(
    value: Decimal, places: int, rounding: str
) -> None:
    with localcontext() as ctx:
        ctx.prec = 50
        expected = value.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    got = quantize(value, places, rounding)
    assert got == expected
    assert got.as_tuple().exponent == -places


def test_quantize_refuses_floats_and_bad_rules() -> None:
    with pytest.raises(TypeError, match="exact number"):
        quantize(0.1, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown rounding rule"):
        quantize(Decimal(1), 2, "ROUND_SOMETIMES")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 8), "0.125"),
        (Fraction(10), "10"),
        (Fraction(1, 3), None),
        (Fraction(-3, 20), "-0.15"),
    ],
    ids=["eighth", "ten", "third", "negative"],
)
def test_exact_decimal(value: Fraction, expected: str | None) -> None:
    got = exact_decimal(value)
    assert (None if got is None else str(got)) == expected


@pytest.mark.parametrize(
    ("code", "units"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("NOK", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("CLF", 4),
    ],
)
def test_minor_units(code: str, units: int) -> None:
    assert minor_units(code) == units


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("XYZ", "unknown ISO 4217 currency code 'XYZ'"),
        ("eur", "upper case"),
        ("EURO", "three-letter"),
        ("E1R", "three-letter"),
        ("", "three-letter"),
    ],
    ids=["unknown", "lowercase", "four-letters", "digit", "empty"],
)
def test_minor_units_rejects(code: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        minor_units(code)
