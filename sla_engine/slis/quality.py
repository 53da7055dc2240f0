"""Quality SLI: the share of answered checks whose assertions (content, JSON, TLS) held."""

from __future__ import annotations

from fractions import Fraction


def quality_sli(checks_passed: int, checks_total: int) -> Fraction:
    """``checks_passed / checks_total`` exactly; 1 when there were no checks."""
    for name, value in (("checks_passed", checks_passed), ("checks_total", checks_total)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if not 0 <= checks_passed <= checks_total:
        raise ValueError(
            f"need 0 <= checks_passed <= checks_total, got {checks_passed}/{checks_total}"
        )
    return Fraction(checks_passed, checks_total) if checks_total else Fraction(1)
