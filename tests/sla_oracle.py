"""A deliberately plain second implementation of the SLA money rules, for property tests.

It shares no code with ``sla_engine``: it looks at every second of a short period on
its own, builds minutes from those seconds, compares with ``Fraction`` and rounds with
integer arithmetic. It is slow on purpose (a few hours of seconds is all it can take)
and written to be read against the README, not against the engine:

- at each second the evidence is, by precedence, maintenance, down, degraded, up;
  unknown only where nothing else was seen (an unknown span is silence);
- a second is bad when it is down (or unknown, under ``unknown = down``) and no
  exclusion covers it; excluded downtime stays in the total;
- a second is removed when it is maintenance under ``exclude_from_total`` or unknown
  under ``unknown = exclude``;
- ``seconds``: total = seconds not removed, bad = bad seconds;
- minutes start at the period start (the last one may be short); a minute leaves the
  total only when every second of it is removed;
- ``minutes_any``: a minute is bad when any second of it is bad;
- ``minutes_full``: a minute is a candidate when every second is bad or removed and
  at least one is bad; candidates in runs of at least ``min_downtime_minutes`` (0 and 1:
  any run) consecutive minutes are bad, the others are good minutes;
- availability is ``(total - bad) / total`` (100 % when nothing is left to measure);
- the tier with the lowest threshold strictly above the availability wins; the cap
  lowers its percent; ``fee x percent / 100`` is rounded once to the currency's digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

MINOR_DIGITS = {"JPY": 0, "KRW": 0, "EUR": 2, "USD": 2, "NOK": 2, "KWD": 3, "BHD": 3}


@dataclass(frozen=True)
class OracleTerms:
    """The contract terms the oracle reads, as plain values."""

    accounting: str  # seconds | minutes_any | minutes_full
    maintenance: str  # exclude_from_total | count_as_up
    unknown: str  # up | down | exclude
    min_run: int
    target: Fraction
    tiers: tuple[tuple[Fraction, Fraction], ...]  # (below, credit percent)
    cap: Fraction | None
    fee: Fraction
    currency: str
    rounding: str  # half_up | half_even | half_down | up | down | ceiling | floor


@dataclass(frozen=True)
class OracleSpans:
    """Spans as (start, end) in whole epoch seconds, half-open; they may overlap."""

    outages: list[tuple[int, int]] = field(default_factory=list)
    maintenance: list[tuple[int, int]] = field(default_factory=list)
    unknown: list[tuple[int, int]] = field(default_factory=list)
    degraded: list[tuple[int, int]] = field(default_factory=list)
    exclusions: list[tuple[int, int]] = field(default_factory=list)


def _inside(second: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= second < b for a, b in spans)


def state_at(second: int, spans: OracleSpans) -> str:
    """The evidence at one second, by precedence."""
    if _inside(second, spans.maintenance):
        return "maintenance"
    if _inside(second, spans.outages):
        return "down"
    if _inside(second, spans.degraded):
        return "degraded"
    if _inside(second, spans.unknown):
        return "unknown"
    return "up"


def seconds_of(start: int, end: int, spans: OracleSpans, terms: OracleTerms) -> list[str]:
    """Each second of ``[start, end)`` as ``bad``, ``removed`` or ``good``."""
    out = []
    for second in range(start, end):
        state = state_at(second, spans)
        down = state == "down" or (state == "unknown" and terms.unknown == "down")
        if down and not _inside(second, spans.exclusions):
            out.append("bad")
        elif (state == "maintenance" and terms.maintenance == "exclude_from_total") or (
            state == "unknown" and terms.unknown == "exclude"
        ):
            out.append("removed")
        else:
            out.append("good")
    return out


def total_and_bad(start: int, end: int, spans: OracleSpans, terms: OracleTerms) -> tuple[int, int]:
    """(total, bad) in the rule's unit: seconds or minutes."""
    marks = seconds_of(start, end, spans, terms)
    if terms.accounting == "seconds":
        return sum(m != "removed" for m in marks), marks.count("bad")
    minutes = [marks[k : k + 60] for k in range(0, len(marks), 60)]
    leaving = [all(m == "removed" for m in minute) for minute in minutes]
    if terms.accounting == "minutes_any":
        bad = ["bad" in minute for minute in minutes]
    else:
        candidate = [
            "bad" in minute and all(m in ("bad", "removed") for m in minute) for minute in minutes
        ]
        bad = [False] * len(minutes)
        run_start = None
        for k in range(len(minutes) + 1):
            if k < len(minutes) and candidate[k]:
                if run_start is None:
                    run_start = k
                continue
            if run_start is not None and k - run_start >= max(terms.min_run, 1):
                for j in range(run_start, k):
                    bad[j] = True
            run_start = None
    return len(minutes) - sum(leaving), sum(bad)


def round_fraction(value: Fraction, places: int, rule: str) -> str:
    """``value`` rounded once to ``places`` decimals, as text with exactly that many."""
    sign = "-" if value < 0 else ""
    scaled = abs(value) * 10**places
    whole = scaled.numerator // scaled.denominator
    rest = scaled - whole
    half = Fraction(1, 2)
    negative = value < 0
    if rule == "half_up":
        up = rest >= half
    elif rule == "half_down":
        up = rest > half
    elif rule == "half_even":
        up = rest > half or (rest == half and whole % 2 == 1)
    elif rule == "up":
        up = rest > 0
    elif rule == "down":
        up = False
    elif rule == "ceiling":
        up = rest > 0 and not negative
    elif rule == "floor":
        up = rest > 0 and negative
    else:
        raise ValueError(rule)
    digits = whole + (1 if up else 0)
    if digits == 0:
        sign = ""
    text = str(digits).rjust(places + 1, "0")
    return sign + (text[:-places] + "." + text[-places:] if places else text)


def number(value: Fraction) -> int | str:
    """A percent as the what-if format writes it: an integer, or an exact decimal."""
    if value.denominator == 1:
        return int(value)
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f").rstrip("0")


@dataclass(frozen=True)
class OracleResult:
    """Everything the oracle works out for one period."""

    total: int
    bad: int
    percent: Fraction
    credit_percent: Fraction
    amount: str
    budget_remaining: str | None


def evaluate(start: int, end: int, spans: OracleSpans, terms: OracleTerms) -> OracleResult:
    """The figures of one period, from first principles."""
    total, bad = total_and_bad(start, end, spans, terms)
    percent = Fraction(100) if total == 0 else Fraction(100 * (total - bad), total)
    matching = [(below, credit) for below, credit in terms.tiers if percent < below]
    credit = min(matching)[1] if matching else Fraction(0)
    if terms.cap is not None and credit > terms.cap:
        credit = terms.cap
    amount = round_fraction(terms.fee * credit / 100, MINOR_DIGITS[terms.currency], terms.rounding)
    budget = (1 - terms.target / 100) * total
    remaining = None
    if budget != 0:
        remaining = round_fraction((budget - bad) / budget * 100, 6, "half_up")
    return OracleResult(total, bad, percent, credit, amount, remaining)


def whatif_fields(result: OracleResult, terms: OracleTerms) -> dict[str, Any]:
    """The oracle's figures under the names and formats of the what-if calculator."""
    unit = "seconds" if terms.accounting == "seconds" else "minutes"
    out: dict[str, Any] = {}
    if unit == "seconds":
        out["total_seconds"] = result.total
        out["downtime_seconds"] = result.bad
    else:
        out["total_minutes"] = result.total
        out["bad_minutes"] = result.bad
    out["availability_percent"] = round_fraction(result.percent, 6, "half_up")
    out["error_budget_remaining_percent"] = result.budget_remaining
    out["credit_percent"] = number(result.credit_percent)
    out["credit_amount"] = result.amount
    return out
