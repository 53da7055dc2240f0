"""Plain-text explanations of a credit that a finance person can check with a calculator.

Every figure in the text is either read from the input or one arithmetic step away
from figures printed above it. The output depends only on the input: the same contract,
period and spans give the same lines, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Protocol

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    Availability,
    MaintenancePolicy,
    Timeline,
    UnknownPolicy,
    compute_availability,
)
from sla_engine.accounting.exclusions import Exclusion
from sla_engine.money.credits import Credit, CreditTerms, compute_credit
from sla_engine.money.rounding import exact_decimal, plain, quantize, rounding_name
from sla_engine.slis.budget import ErrorBudget, error_budget
from sla_engine.time.intervals import Interval, clip, intersect, total, union
from sla_engine.time.text import SpanText, local_iso, seconds_plain, spaced, span_iso, utc_iso

_EXACT_PLACES = 12
_UNKNOWN_AS = {
    UnknownPolicy.UP: "counted as up",
    UnknownPolicy.DOWN: "counted as down",
    UnknownPolicy.EXCLUDE: "excluded from the total",
}
_MAINTENANCE_AS = {
    MaintenancePolicy.COUNT_AS_UP: "counted as up, stays in the total",
    MaintenancePolicy.EXCLUDE_FROM_TOTAL: "excluded from the total",
}


class PeriodLike(Protocol):
    """What an explanation needs of a period: a calendar Period or a report window."""

    @property
    def label(self) -> str:
        """'2026-10', '2026-Q4' or a rolling window's name."""

    @property
    def tz(self) -> str:
        """The IANA zone local times are shown in."""

    @property
    def start(self) -> datetime:
        """First instant (UTC)."""

    @property
    def end(self) -> datetime:
        """First instant after the period (UTC)."""

    @property
    def interval(self) -> Interval:
        """``[start, end)``."""

    @property
    def total_seconds(self) -> int:
        """Length in whole seconds."""


@dataclass(frozen=True, slots=True)
class CreditExplanation:
    """The figures of one credit line and the text that explains them."""

    availability: Availability
    credit: Credit
    budget: ErrorBudget | None
    lines: tuple[str, ...]
    # The bounds of each of availability.bad_spans as text (text.span_iso), as the
    # lines show them: reports list the same spans again and reuse these.
    bad_span_texts: tuple[SpanText, ...] = ()

    @property
    def text(self) -> str:
        """The lines joined, ending in a newline."""
        return "\n".join(self.lines) + "\n"


def _utc(instant: datetime) -> str:
    return utc_iso(instant, " ")


def _local(instant: datetime, tz: str) -> str:
    return local_iso(instant, tz, " ")


def _span(iv: Interval, tz: str) -> str:
    start, end = iv.start, iv.end
    return (
        f"{local_iso(start, tz, ' ')} to {local_iso(end, tz, ' ')} "
        f"(UTC {utc_iso(start, ' ')} to {utc_iso(end, ' ')})"
    )


def _secs(span: timedelta) -> str:
    return f"{seconds_plain(span)} s"


def _exact_text(value: Fraction) -> str:
    exact = exact_decimal(value)
    if exact is not None:
        exponent = exact.as_tuple().exponent
        if isinstance(exponent, int) and -exponent <= _EXACT_PLACES:
            return plain(exact)
    return plain(quantize(value, _EXACT_PLACES, ROUND_DOWN)) + "..."


def exact_text(value: Fraction) -> str:
    """An exact value in plain decimals; cut (with '...') after 12 places if it repeats."""
    return _exact_text(value)


def period_lines(period: PeriodLike, measured_until: datetime) -> list[str]:
    """The lines that name a period in local time and UTC, and how far it was measured."""
    out = [
        f"Period: {period.label} ({period.tz}), the end is not included",
        f"  local: {_local(period.start, period.tz)} to {_local(period.end, period.tz)}",
        f"  UTC:   {_utc(period.start)} to {_utc(period.end)}",
        f"  length: {period.total_seconds} s",
    ]
    if measured_until < period.end:
        out.append(
            f"  measured until {_utc(measured_until)}: the period is not over, figures are to date"
        )
    return out


def span_text(iv: Interval, tz: str) -> str:
    """A span in local time with its UTC bounds."""
    return _span(iv, tz)


def _unit(availability: Availability) -> str:
    return "s" if availability.unit == "seconds" else "min"


def _period_lines(period: PeriodLike, availability: Availability) -> list[str]:
    return period_lines(period, availability.measured_until)


def _rules_line(terms: AccountingTerms) -> str:
    rule = str(terms.accounting)
    if terms.accounting is Accounting.MINUTES_ANY:
        rule += " (a minute is bad if any downtime touches it; minutes start at the period start)"
    elif terms.accounting is Accounting.MINUTES_FULL:
        run = max(terms.min_downtime_minutes, 1)
        rule += f" (only whole minutes of downtime, in runs of at least {run})"
    return (
        f"Rules: accounting {rule}; maintenance {_MAINTENANCE_AS[terms.maintenance]}; "
        f"unknown time {_UNKNOWN_AS[terms.unknown]}"
    )


def _not_counted_lines(
    period: PeriodLike,
    timeline: Timeline,
    availability: Availability,
    exclusions: Iterable[Exclusion],
) -> list[str]:
    window = Interval(period.start, availability.measured_until)
    tz = period.tz
    out = []
    maintenance = clip(timeline.maintenance, window)
    policy = _MAINTENANCE_AS[availability.terms.maintenance]
    out.append(f"Maintenance ({policy}): {_secs(total(maintenance))}")
    masked = clip(timeline.down_during_maintenance, window)
    for iv in maintenance:
        inside = total(intersect(masked, [iv]))
        out.append(
            f"  {_span(iv, tz)}: {_secs(iv.duration)}; "
            f"downtime inside, not counted: {_secs(inside)}"
        )
    down = clip(timeline.downtime, window)
    unknown = clip(timeline.unknown, window)
    bad_candidates = (
        union([*down, *unknown]) if availability.terms.unknown is UnknownPolicy.DOWN else down
    )
    # An empty exclusion (start == end) "overlaps" a window around it but holds no
    # instant: only the part inside the window is listed, and only if there is one.
    parts = [(e, e.interval.intersection(window)) for e in exclusions]
    chosen = sorted(
        ((e, part) for e, part in parts if part is not None),
        key=lambda ep: (ep[0].interval.start, ep[0].interval.end, ep[0].kind, ep[0].reason),
    )
    out.append(f"Exclusions (not downtime, stay in the total): {_secs(availability.excluded)}")
    for e, part in chosen:
        removed = total(intersect(bad_candidates, [part]))
        out.append(
            f"  {e.kind} ({e.reason}): {_span(part, tz)}: downtime not counted: {_secs(removed)}"
        )
    out.append(
        f"Unknown time (no data, {_UNKNOWN_AS[availability.terms.unknown]}): "
        f"{_secs(availability.unknown)}"
    )
    out.append(f"Degraded time (answered, counted as up): {_secs(availability.degraded)}")
    return out


def _bad_span_text(texts: SpanText) -> str:
    local_start, local_end, utc_start, utc_end = texts
    return (
        f"{spaced(local_start)} to {spaced(local_end)} "
        f"(UTC {spaced(utc_start)} to {spaced(utc_end)})"
    )


def _downtime_lines(
    period: PeriodLike, timeline: Timeline, availability: Availability
) -> tuple[list[str], tuple[SpanText, ...]]:
    """The downtime lines, and the text of each bad span's bounds (they are listed)."""
    tz = period.tz
    window = Interval(period.start, availability.measured_until)
    unknown = clip(timeline.unknown, window)
    texts = tuple(span_iso(iv.start, iv.end, tz) for iv in availability.bad_spans)
    if availability.unit == "seconds":
        out = ["Downtime counted:"]
        first = 0
        for n, iv in enumerate(availability.bad_spans, 1):
            # Both are sorted and disjoint: add up the unknown time inside each span in
            # one sweep, not by trying every unknown span against every span.
            while first < len(unknown) and unknown[first].end <= iv.start:
                first += 1
            blind = timedelta()
            for u in unknown[first:]:
                if u.start >= iv.end:
                    break
                blind += min(u.end, iv.end) - max(u.start, iv.start)
            note = f" (of which {_secs(blind)} without data)" if blind else ""
            out.append(f"  {n}. {_bad_span_text(texts[n - 1])}: {_secs(iv.duration)}{note}")
        out.append(f"  sum: {plain(availability.bad)} s")
        return out, texts
    out = ["Downtime (before minute accounting):"]
    for n, iv in enumerate(clip(timeline.downtime, window), 1):
        out.append(f"  {n}. {_span(iv, tz)}: {_secs(iv.duration)}")
    out.append(f"Bad minutes ({availability.terms.accounting}):")
    for n, iv in enumerate(availability.bad_spans, 1):
        minutes = -(-iv.duration // timedelta(minutes=1))
        out.append(f"  {n}. {_bad_span_text(texts[n - 1])}: {minutes} min")
    out.append(f"  sum: {plain(availability.bad)} min")
    return out, texts


def _total_line(availability: Availability) -> str:
    unit = _unit(availability)
    if availability.unit == "seconds":
        whole = _secs(availability.measured_until - availability.window.start)
    else:
        whole = f"{plain(availability.total + _removed_minutes(availability))} min"
    removed = plain(_removed_units(availability))
    return f"Total: {whole} - {removed} {unit} removed = {plain(availability.total)} {unit}"


def _removed_units(availability: Availability) -> Decimal:
    if availability.unit == "seconds":
        return Decimal(availability.removed // timedelta(microseconds=1)) / Decimal(1_000_000)
    return _removed_minutes(availability)


def _removed_minutes(availability: Availability) -> Decimal:
    length = availability.measured_until - availability.window.start
    return Decimal(-(-length // timedelta(minutes=1))) - availability.total


def credit_lines(exact: str, credit: Credit, terms: CreditTerms) -> list[str]:
    """Tier, cap, fee x percent and the rounded amount, as lines to check by hand.

    ``exact`` is the exact SLI percent as text (the value the tiers were compared to).
    """
    out: list[str] = []
    if credit.tier is not None:
        out.append(
            f"Tier: {exact} % is below {plain(credit.tier.below)} % "
            f"-> credit {plain(credit.tier.credit_percent)} %"
        )
    elif terms.tiers:
        thresholds = ", ".join(plain(t.below) for t in terms.tiers)
        out.append(f"Tier: none; {exact} % is not below any threshold ({thresholds} %)")
    else:
        out.append("Tier: none; the contract has no credit tiers")
    if credit.capped:
        out.append(
            f"Cap: the credit is capped at {plain(credit.credit_percent)} % "
            f"(the tier gives {plain(credit.uncapped_percent)} %)"
        )
    out.append(
        f"Credit: {plain(credit.monthly_fee)} {credit.currency} x {plain(credit.credit_percent)} % "
        f"= {plain(credit.exact_amount)} {credit.currency}"
    )
    out.append(
        f"Amount owed: {plain(credit.amount)} {credit.currency} "
        f"(rounded once, {rounding_name(credit.rounding)}, to {terms.minor_units} decimals)"
    )
    return out


def _credit_lines(availability: Availability, credit: Credit, terms: CreditTerms) -> list[str]:
    unit = _unit(availability)
    exact = _exact_text(availability.percent_exact)
    out = [
        f"Availability: ({plain(availability.total)} - {plain(availability.bad)}) / "
        f"{plain(availability.total)} x 100 = {plain(availability.percent_rounded())} % "
        f"(shown rounded half up to 6 decimals; exact value {exact} %)",
    ]
    if availability.total == 0:
        out.append(
            f"  nothing was measured (total 0 {unit}): there is no availability; "
            "it is taken as 100 % for the tiers, so no credit is owed"
        )
    out += credit_lines(exact, credit, terms)
    return out


def _budget_lines(availability: Availability, budget: ErrorBudget) -> list[str]:
    unit = _unit(availability)
    remaining = budget.remaining_percent()
    share = "undefined (no budget)" if remaining is None else f"{plain(remaining)} % of the budget"
    return [
        f"Error budget: (1 - {plain(budget.target)} / 100) x {plain(budget.total)} {unit} "
        f"= {plain(budget.budget)} {unit}; used {plain(budget.consumed)} {unit}; "
        f"remaining {plain(budget.remaining)} {unit} = {share}",
    ]


def explain_credit(
    period: PeriodLike,
    timeline: Timeline,
    accounting: AccountingTerms,
    credit_terms: CreditTerms,
    *,
    exclusions: Iterable[Exclusion] = (),
    target: Decimal | None = None,
) -> CreditExplanation:
    """Compute the credit for ``period`` and explain each step in plain text."""
    chosen = tuple(exclusions)
    availability = compute_availability(timeline, period.interval, accounting, chosen)
    credit = compute_credit(availability, credit_terms)
    budget = None if target is None else error_budget(availability, target)
    downtime, texts = _downtime_lines(period, timeline, availability)
    lines = [
        "Service credit explanation",
        *_period_lines(period, availability),
        _rules_line(accounting),
        *_not_counted_lines(period, timeline, availability, chosen),
        *downtime,
        _total_line(availability),
        *_credit_lines(availability, credit, credit_terms),
    ]
    if budget is not None:
        lines += _budget_lines(availability, budget)
    return CreditExplanation(availability, credit, budget, tuple(lines), texts)
