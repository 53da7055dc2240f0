"""Exact rounding of fractions and decimals to a number of decimal places.

Ratios stay exact (``Fraction``) until something is shown or paid; this module turns
them into ``Decimal`` once, with any of the ``decimal`` module's rounding rules, without
an intermediate inexact division.
"""

from __future__ import annotations

from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)
from fractions import Fraction

ROUNDING_RULES = frozenset(
    {
        ROUND_05UP,
        ROUND_CEILING,
        ROUND_DOWN,
        ROUND_FLOOR,
        ROUND_HALF_DOWN,
        ROUND_HALF_EVEN,
        ROUND_HALF_UP,
        ROUND_UP,
    }
)


# The names contracts use (README, ``[[contracts]] rounding``, what-if cases).
RULE_NAMES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}


def check_rounding(rounding: str) -> str:
    """Return ``rounding`` if it names a ``decimal`` rounding rule, else raise ValueError."""
    if rounding not in ROUNDING_RULES:
        known = ", ".join(sorted(ROUNDING_RULES))
        raise ValueError(f"unknown rounding rule {rounding!r}; expected one of {known}")
    return rounding


def rounding_rule(name: str) -> str:
    """The ``decimal`` rule a contract's rounding ``name`` means (``half_even``).

    The ``decimal`` module's own names (``ROUND_HALF_EVEN``) are accepted too, as
    what-if files written before the names were aligned use them.
    """
    if name in RULE_NAMES:
        return RULE_NAMES[name]
    if name in ROUNDING_RULES:
        return name
    raise ValueError(f"unknown rounding rule {name!r}; expected one of {', '.join(RULE_NAMES)}")


def rounding_name(rule: str) -> str:
    """A ``decimal`` rounding rule as contracts spell it (``ROUND_HALF_UP`` is ``half_up``)."""
    return check_rounding(rule).removeprefix("ROUND_").lower()


def to_fraction(value: Fraction | Decimal | int) -> Fraction:
    """``value`` as an exact Fraction; floats are refused (they are not exact)."""
    if isinstance(value, bool) or not isinstance(value, Fraction | Decimal | int):
        raise TypeError(f"expected an exact number (Decimal, Fraction, int), got {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"expected a finite number, got {value}")
    return Fraction(value)


def quantize(
    value: Fraction | Decimal | int, places: int, rounding: str = ROUND_HALF_UP
) -> Decimal:
    """``value`` rounded once to ``places`` decimals with ``rounding``; exact for any input."""
    check_rounding(rounding)
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    scaled = to_fraction(value) * 10**places
    floor, rest = divmod(scaled.numerator, scaled.denominator)
    # A stand-in with two more digits that lies on the same side of every rounding
    # boundary as the exact value: exact when rest == 0, ...50 when exactly half.
    if rest == 0:
        tail = 0
    elif 2 * rest < scaled.denominator:
        tail = 25
    elif 2 * rest == scaled.denominator:
        tail = 50
    else:
        tail = 75
    stand_in = Decimal(floor * 100 + tail).scaleb(-(places + 2))
    with localcontext() as ctx:
        ctx.prec = len(str(abs(floor))) + places + 4
        out = stand_in.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    return out.copy_abs() if out.is_zero() else out


def exact_decimal(value: Fraction | Decimal | int) -> Decimal | None:
    """``value`` as a Decimal if it has a finite decimal expansion, else None."""
    frac = to_fraction(value)
    den = frac.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return None
    places = max(twos, fives)
    return quantize(frac, places).normalize() if places else Decimal(frac.numerator)


def plain(value: Decimal) -> str:
    """``value`` in positional notation without an exponent (``1E+1`` becomes ``10``)."""
    return f"{value:f}"
