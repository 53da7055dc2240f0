"""Service credits: the tier an availability reaches, the percent, the amount owed.

A tier applies when the exact availability is strictly below its ``below`` threshold;
of the tiers that apply, the one with the lowest threshold wins. Tiers must not give
less credit for worse availability, so that is also the highest matching credit. The
percent is capped, then ``fee * percent / 100`` is computed exactly and rounded once,
to the currency's minor unit, with the contract's rounding rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise

from sla_engine.accounting.availability import Availability
from sla_engine.money.currencies import minor_units
from sla_engine.money.rounding import check_rounding, exact_decimal, quantize, to_fraction


def _exact(name: str, value: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, got {value!r}")
    out = Decimal(value)
    if not out.is_finite():
        raise ValueError(f"{name} must be finite, got {value}")
    return out


@dataclass(frozen=True, slots=True)
class Tier:
    """``credit_percent`` of the fee is owed when availability is strictly below ``below``."""

    below: Decimal
    credit_percent: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "below", _exact("Tier.below", self.below))
        object.__setattr__(
            self, "credit_percent", _exact("Tier.credit_percent", self.credit_percent)
        )
        if not 0 < self.below <= 100:
            raise ValueError(f"Tier.below must be a percent in (0, 100], got {self.below}")
        if self.credit_percent < 0:
            raise ValueError(f"Tier.credit_percent must be >= 0, got {self.credit_percent}")


@dataclass(frozen=True, slots=True)
class CreditTerms:
    """The credit part of a contract; ``tiers`` are kept sorted by threshold, highest first."""

    tiers: tuple[Tier, ...]
    cap_percent: Decimal | None
    monthly_fee: Decimal
    currency: str
    rounding: str = ROUND_HALF_UP

    def __post_init__(self) -> None:
        tiers = tuple(sorted(self.tiers, key=lambda t: t.below, reverse=True))
        object.__setattr__(self, "tiers", tiers)
        for higher, lower in pairwise(tiers):
            if higher.below == lower.below:
                raise ValueError(f"two tiers share the threshold {higher.below}")
            if lower.credit_percent < higher.credit_percent:
                raise ValueError(
                    f"tier below {lower.below} gives less credit ({lower.credit_percent}%) "
                    f"than tier below {higher.below} ({higher.credit_percent}%)"
                )
        if self.cap_percent is not None:
            cap = _exact("cap_percent", self.cap_percent)
            if cap < 0:
                raise ValueError(f"cap_percent must be >= 0, got {cap}")
            object.__setattr__(self, "cap_percent", cap)
        fee = _exact("monthly_fee", self.monthly_fee)
        if fee < 0:
            raise ValueError(f"monthly_fee must be >= 0, got {fee}")
        object.__setattr__(self, "monthly_fee", fee)
        minor_units(self.currency)
        check_rounding(self.rounding)

    @property
    def minor_units(self) -> int:
        """Decimals of the currency (JPY 0, EUR 2, KWD 3)."""
        return minor_units(self.currency)


@dataclass(frozen=True, slots=True)
class Credit:
    """What is owed for one period, with every intermediate value for the explanation."""

    availability_percent: Fraction
    tier: Tier | None
    uncapped_percent: Decimal
    credit_percent: Decimal
    monthly_fee: Decimal
    currency: str
    rounding: str
    exact_amount: Decimal
    amount: Decimal

    @property
    def capped(self) -> bool:
        """True when the cap lowered the percent."""
        return self.credit_percent < self.uncapped_percent


def matching_tier(availability_percent: Fraction, tiers: Iterable[Tier]) -> Tier | None:
    """The tier with the lowest threshold that ``availability_percent`` is strictly below."""
    exact = to_fraction(availability_percent)
    matching = [t for t in tiers if exact < Fraction(t.below)]
    return min(matching, key=lambda t: t.below) if matching else None


def credit_for_percent(availability_percent: Fraction, terms: CreditTerms) -> Credit:
    """The credit owed at an exact availability percent."""
    tier = matching_tier(availability_percent, terms.tiers)
    uncapped = tier.credit_percent if tier is not None else Decimal(0)
    percent = uncapped if terms.cap_percent is None else min(uncapped, terms.cap_percent)
    exact = Fraction(terms.monthly_fee) * Fraction(percent) / 100
    exact_amount = exact_decimal(exact)
    if exact_amount is None:  # pragma: no cover - fee and percent are finite decimals
        raise ArithmeticError("fee * percent / 100 has no finite decimal expansion")
    exponent = exact_amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < terms.minor_units:
        # Pad to the currency's decimals (no rounding: the value has fewer digits).
        exact_amount = quantize(exact, terms.minor_units, terms.rounding)
    return Credit(
        availability_percent=to_fraction(availability_percent),
        tier=tier,
        uncapped_percent=uncapped,
        credit_percent=percent,
        monthly_fee=terms.monthly_fee,
        currency=terms.currency,
        rounding=terms.rounding,
        exact_amount=exact_amount,
        amount=quantize(exact, terms.minor_units, terms.rounding),
    )


def compute_credit(availability: Availability, terms: CreditTerms) -> Credit:
    """The credit owed for ``availability`` under ``terms`` (uses the exact ratio)."""
    return credit_for_percent(availability.percent_exact, terms)
