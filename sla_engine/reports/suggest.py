"""Data-driven targets: which targets history met, and what each would have cost.

Given a component's availability per month and candidate (target, tier table) pairs,
say for each candidate in which months the target was met and what credits its tier
table would have owed. The suggestion is the highest target met in every month.
A month with insufficient data (coverage below the minimum, or nothing counted) is
no evidence for any target: it is skipped and named, never taken as 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sla_engine.accounting.availability import Availability
from sla_engine.contracts import DEFAULT_MIN_COVERAGE
from sla_engine.money.credits import Credit, CreditTerms, Tier, credit_for_percent

# A tier table in the shape cloud providers publish: 10 % below the target, 25 % below
# 99 %, 100 % below 95 % (thresholds above the target are dropped).
_LOWER_TIERS = ((Decimal(99), Decimal(25)), (Decimal(95), Decimal(100)))


def default_tiers(target: Decimal) -> tuple[Tier, ...]:
    """10 % credit below ``target``, 25 % below 99 %, 100 % below 95 %."""
    return (Tier(target, Decimal(10)), *(Tier(b, c) for b, c in _LOWER_TIERS if b < target))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A target and the tier table it would come with."""

    name: str
    target: Decimal
    credit: CreditTerms


@dataclass(frozen=True, slots=True)
class MonthOutcome:
    """One month under one candidate."""

    label: str
    percent: Fraction
    met: bool
    credit: Credit


@dataclass(frozen=True, slots=True)
class CandidateOutcome:
    """A candidate over every month: how often it was met and what it cost."""

    candidate: Candidate
    months: tuple[MonthOutcome, ...]

    @property
    def met_count(self) -> int:
        """Months in which the target was met."""
        return sum(m.met for m in self.months)

    @property
    def credit_percent_total(self) -> Decimal:
        """Sum of the monthly credit percents (in monthly fees)."""
        return sum((m.credit.credit_percent for m in self.months), Decimal(0))

    @property
    def credit_amount_total(self) -> Decimal:
        """Sum of the monthly amounts owed."""
        return sum((m.credit.amount for m in self.months), Decimal(0))


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Every candidate's outcomes, and the highest target met in every month.

    ``months`` are the months with enough data; ``skipped`` the others.
    """

    months: tuple[tuple[str, Availability], ...]
    outcomes: tuple[CandidateOutcome, ...]
    skipped: tuple[tuple[str, Availability], ...] = ()
    min_coverage: Decimal = DEFAULT_MIN_COVERAGE

    @property
    def suggested_target(self) -> Decimal | None:
        """The highest candidate target met in every month; None if none was."""
        always = [
            o.candidate.target
            for o in self.outcomes
            if self.months and o.met_count == len(self.months)
        ]
        return max(always) if always else None


def enough_data(availability: Availability, min_coverage: Decimal) -> bool:
    """True when ``availability`` measured something over at least ``min_coverage`` %."""
    return availability.total > 0 and availability.coverage * 100 >= Fraction(min_coverage)


def suggest_targets(
    months: Sequence[tuple[str, Availability]],
    candidates: Sequence[Candidate],
    *,
    min_coverage: Decimal = DEFAULT_MIN_COVERAGE,
) -> Suggestion:
    """Evaluate each candidate against each month's exact availability.

    Months without enough data (see :func:`enough_data`) are skipped.
    """
    skipped = tuple((label, a) for label, a in months if not enough_data(a, min_coverage))
    months = [(label, a) for label, a in months if enough_data(a, min_coverage)]
    outcomes = []
    for candidate in candidates:
        rows = tuple(
            MonthOutcome(
                label,
                a.percent_exact,
                a.percent_exact >= Fraction(candidate.target),
                credit_for_percent(a.percent_exact, candidate.credit),
            )
            for label, a in months
        )
        outcomes.append(CandidateOutcome(candidate, rows))
    return Suggestion(tuple(months), tuple(outcomes), skipped, min_coverage)
