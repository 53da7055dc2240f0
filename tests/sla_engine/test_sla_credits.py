"""Service credit tiers, caps and money rounding."""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.money.credits import CreditTerms, Tier, credit_for_percent, matching_tier

D = Decimal
STANDARD = (Tier(D("99.9"), D(10)), Tier(D("99.0"), D(25)), Tier(D("95.0"), D(100)))


def terms(
    fee: str = "1000.00",
    currency: str = "USD",
    cap: str | None = None,
    rounding: str = ROUND_HALF_UP,
    tiers: tuple[Tier, ...] = STANDARD,
) -> CreditTerms:
    return CreditTerms(tiers, None if cap is None else D(cap), D(fee), currency, rounding)


@pytest.mark.parametrize(
    ("availability", "percent"),
    [
        (Fraction(100), "0"),
        (Fraction(999, 10), "0"),
        (Fraction(999, 10) - Fraction(1, 10**12), "10"),
        (Fraction(99), "10"),
        (Fraction(99) - Fraction(1, 10**12), "25"),
        (Fraction(95), "25"),
        (Fraction(9499, 100), "100"),
        (Fraction(0), "100"),
    ],
    ids=["100", "at-99.9", "just-below-99.9", "at-99", "just-below-99", "at-95", "94.99", "0"],
)
def test_tiers_apply_strictly_below(availability: Fraction, percent: str) -> None:
    assert credit_for_percent(availability, terms()).credit_percent == D(percent)


def test_lowest_matching_threshold_wins_whatever_the_order() -> None:
    shuffled = (STANDARD[2], STANDARD[0], STANDARD[1])
    got = credit_for_percent(Fraction(90), terms(tiers=shuffled))
    assert got.tier == STANDARD[2]
    assert got.credit_percent == 100
    assert terms(tiers=shuffled).tiers == STANDARD


@pytest.mark.parametrize(
    ("fee", "currency", "availability", "cap", "rounding", "amount", "capped"),
    [
        ("999.95", "EUR", Fraction(998, 10), None, ROUND_HALF_UP, "100.00", False),
        ("0.05", "USD", Fraction(998, 10), None, ROUND_HALF_UP, "0.01", False),
        ("0.05", "USD", Fraction(998, 10), None, ROUND_HALF_EVEN, "0.00", False),
        ("0.05", "USD", Fraction(998, 10), None, ROUND_DOWN, "0.00", False),
        ("12345", "JPY", Fraction(998, 10), None, ROUND_HALF_UP, "1235", False),
        ("12344", "JPY", Fraction(998, 10), None, ROUND_HALF_UP, "1234", False),
        ("10.005", "KWD", Fraction(90), None, ROUND_HALF_UP, "10.005", False),
        ("1000.00", "USD", Fraction(90), "30", ROUND_HALF_UP, "300.00", True),
        ("1000.00", "USD", Fraction(998, 10), "30", ROUND_HALF_UP, "100.00", False),
        ("1000.00", "USD", Fraction(90), "0", ROUND_HALF_UP, "0.00", True),
    ],
    ids=[
        "half-up-once-at-the-end",
        "half-up-at-.005",
        "half-even-at-.005",
        "round-down",
        "jpy-zero-decimals-up",
        "jpy-zero-decimals-down",
        "kwd-three-decimals",
        "cap-applies",
        "cap-above-tier",
        "cap-zero",
    ],
)
def test_amount(
    fee: str,
    currency: str,
    availability: Fraction,
    cap: str | None,
    rounding: str,
    amount: str,
    capped: bool,
) -> None:
    credit = credit_for_percent(availability, terms(fee, currency, cap, rounding))
    assert str(credit.amount) == amount
    assert credit.capped is capped
    assert credit.currency == currency


def test_exact_amount_is_kept_for_the_explanation() -> None:
    credit = credit_for_percent(Fraction(998, 10), terms("999.95", "EUR"))
    assert str(credit.exact_amount) == "99.995"
    assert str(credit_for_percent(Fraction(998, 10), terms("250", "EUR")).exact_amount) == "25.00"


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: terms(currency="XXY"), ValueError, "unknown ISO 4217"),
        (lambda: terms(currency="usd"), ValueError, "upper case"),
        (lambda: terms(rounding="ROUND_NEAREST"), ValueError, "unknown rounding"),
        (lambda: terms(fee="-1"), ValueError, "monthly_fee must be >= 0"),
        (lambda: terms(cap="-1"), ValueError, "cap_percent must be >= 0"),
        (lambda: Tier(99.9, D(10)), TypeError, "Tier.below must be a Decimal"),  # type: ignore[arg-type]
        (lambda: Tier(D("100.1"), D(10)), ValueError, "percent in \\(0, 100\\]"),
        (lambda: Tier(D(99), D(-1)), ValueError, "credit_percent must be >= 0"),
        (lambda: Tier(D("NaN"), D(1)), ValueError, "finite"),
        (
            lambda: terms(tiers=(Tier(D(99), D(10)), Tier(D(99), D(20)))),
            ValueError,
            "share the threshold 99",
        ),
        (
            lambda: terms(tiers=(Tier(D(99), D(30)), Tier(D(95), D(20)))),
            ValueError,
            "gives less credit",
        ),
    ],
    ids=[
        "unknown-currency",
        "lowercase-currency",
        "bad-rounding",
        "negative-fee",
        "negative-cap",
        "float-threshold",
        "threshold-over-100",
        "negative-credit",
        "nan",
        "duplicate-threshold",
        "non-monotonic-tiers",
    ],
)
def test_validation(build: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        build()  # type: ignore[operator]


def test_no_tiers_no_credit() -> None:
    credit = credit_for_percent(Fraction(0), terms(tiers=()))
    assert credit.tier is None
    assert str(credit.amount) == "0.00"


thresholds = st.decimals(min_value=D("0.001"), max_value=D(100), places=3)


@settings(deadline=None, max_examples=100)
@given(below=thresholds, credit=st.integers(1, 100))
def test_exact_boundary_never_matches_and_a_hair_below_does(below: Decimal, credit: int) -> None:
    tier = Tier(below, D(credit))
    assert matching_tier(Fraction(below), [tier]) is None
    assert matching_tier(Fraction(below) - Fraction(1, 10**15), [tier]) == tier


@settings(deadline=None, max_examples=100)
@given(
    a=st.fractions(min_value=0, max_value=100),
    b=st.fractions(min_value=0, max_value=100),
)
def test_worse_availability_never_earns_less_credit(a: Fraction, b: Fraction) -> None:
    low, high = sorted((a, b))
    rules = terms(cap="50")
    assert credit_for_percent(low, rules).amount >= credit_for_percent(high, rules).amount
