"""The engine against an independent oracle (tests/sla_oracle.py), over random contracts.

Random periods of up to two hours around DST changes (and in zones whose offsets are
not whole hours), random outages, maintenance, unknown spans and exclusions (empty
ones too), all three accounting rules with minimum run lengths, tiers with one
threshold often pinned exactly at the availability, caps, and currencies paid in 0, 2
and 3 decimals with every rounding rule. The engine is driven through the what-if
calculator, so parsing, the explanation and the fields finance reads are all checked.
A third property drives the report path (state intervals with gaps, one source) and
checks coverage and the verdict (met, not met, insufficient data) too.

Examples per run of ``make test``: 150 what-if contracts (periods up to two hours),
400 minutes_full contracts over at most ten minutes (where defect 1 of issue 13 was
found: before the fix, in 30 of 30 seeds), 150 report-path histories; about 6 s of
CPU in all. ``HYPOTHESIS_PROFILE=oracle-long`` runs 20 times as many.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
)
from sla_engine.contracts import Contract, ReportPeriod
from sla_engine.money.credits import CreditTerms, Tier
from sla_engine.money.rounding import exact_decimal
from sla_engine.reports.report import Evidence, Verdict, evaluate_contract
from sla_engine.reports.whatif import evaluate_case
from sla_engine.time.states import State, StateInterval
from tests.sla_oracle import (
    MINOR_DIGITS,
    OracleSpans,
    OracleTerms,
    evaluate,
    state_at,
    whatif_fields,
)

LONG = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "oracle-long" else 1
ORACLE_EXAMPLES = 150 * LONG
MINUTE_EXAMPLES = 400 * LONG

# Wall-clock starts in their zones (adding a timedelta to one is wall-clock arithmetic):
# each period below starts near one of these.
ANCHORS = [
    datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("Europe/Oslo")),  # 02:00 -> 03:00
    datetime(2026, 10, 25, 1, 0, tzinfo=ZoneInfo("Europe/Oslo")),  # 03:00 -> 02:00
    datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo("America/New_York")),  # 02:00 -> 01:00
    datetime(2026, 3, 8, 1, 0, tzinfo=ZoneInfo("America/New_York")),  # 02:00 -> 03:00
    datetime(2026, 4, 5, 1, 0, tzinfo=ZoneInfo("Australia/Lord_Howe")),  # 02:00 -> 01:30
    datetime(2026, 6, 10, 23, 0, tzinfo=ZoneInfo("Asia/Kathmandu")),  # +05:45
    datetime(2026, 4, 5, 2, 30, tzinfo=ZoneInfo("Pacific/Chatham")),  # 03:45 -> 02:45
    datetime(2026, 6, 30, 22, 0, tzinfo=ZoneInfo("UTC")),
]
ROUNDINGS = ["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"]
CURRENCIES = ["JPY", "EUR", "USD", "KWD", "BHD"]
ACCOUNTING = ("seconds", "minutes_any", "minutes_full")
TARGETS = ["90", "95", "99", "99.5", "99.9", "100", "97.25"]


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


@st.composite
def periods(draw: st.DrawFn, longest: int) -> tuple[str, datetime, datetime]:
    anchor = draw(st.sampled_from(ANCHORS))
    zone = anchor.tzinfo
    assert isinstance(zone, ZoneInfo)
    tz = zone.key
    local = anchor + timedelta(seconds=draw(st.integers(0, 7200)))
    # Half the periods are short, so that spans crowd each other's minutes.
    length = timedelta(seconds=draw(st.integers(30, 900) | st.integers(30, longest)))
    # Both ends are wall-clock times in the zone, so a period across a DST change is
    # longer or shorter than its wall-clock length.
    start, end = local, local + length
    if end.astimezone(UTC) <= start.astimezone(UTC):  # wall clock turned back meanwhile
        end = (start.astimezone(UTC) + length).astimezone(zone)
    return tz, start, end


def spans(
    draw: st.DrawFn, first: int, last: int, most: int, near: list[int]
) -> list[tuple[int, int]]:
    """Up to ``most`` spans; a start is often an edge of a span drawn before (``near``).

    Real spans meet: maintenance begins as an outage ends, silence follows a failure.
    Edges that meet inside one minute are where minute rules go wrong.
    """
    out = []
    for _ in range(draw(st.integers(0, most))):
        if near and draw(st.booleans()):
            a = draw(st.sampled_from(near)) + draw(st.integers(-5, 5))
        else:
            margin = min(300, last - first)
            a = draw(st.integers(first - margin, last + 60))
        b = a + draw(st.integers(0, 120) | st.integers(0, 900))
        out.append((a, b))
        near += [a, b]
    return out


def percents(low: int = 0) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=100, places=2).map(lambda d: d.normalize())


@st.composite
def contracts(
    draw: st.DrawFn, longest: int = 2 * 3600, rules: tuple[str, ...] = ACCOUNTING
) -> tuple[dict[str, Any], OracleTerms, OracleSpans, int, int]:
    tz, start, end = draw(periods(longest))
    s, e = int(start.timestamp()), int(end.timestamp())
    near: list[int] = []
    found = OracleSpans(
        outages=spans(draw, s, e, 4, near),
        maintenance=spans(draw, s, e, 3, near),
        unknown=spans(draw, s, e, 3, near),
        exclusions=spans(draw, s, e, 2, near),
    )
    accounting = draw(st.sampled_from(rules))
    currency = draw(st.sampled_from(CURRENCIES))
    digits = MINOR_DIGITS[currency]
    fee = Decimal(draw(st.integers(0, 10**7))).scaleb(-digits)
    cap = draw(st.none() | percents())
    target = draw(st.sampled_from(TARGETS))
    terms = OracleTerms(
        accounting=accounting,
        maintenance=draw(st.sampled_from(["exclude_from_total", "count_as_up"])),
        unknown=draw(st.sampled_from(["up", "down", "exclude"])),
        min_run=draw(st.integers(0, 6)) if accounting == "minutes_full" else 0,
        target=Fraction(Decimal(target)),
        tiers=(),
        cap=None if cap is None else Fraction(cap),
        fee=Fraction(fee),
        currency=currency,
        rounding=draw(st.sampled_from(ROUNDINGS)),
    )
    # Tiers: random thresholds, and often one exactly at the true availability, where
    # "strictly below" decides; credits never fall as the threshold falls.
    thresholds = set(draw(st.lists(percents(low=1), max_size=3)))
    truth = evaluate(s, e, found, terms).percent
    pinned = exact_decimal(truth)
    if pinned is not None and 0 < truth <= 100 and draw(st.booleans()):
        thresholds.add(pinned.normalize())
    tiers = []
    credit = Decimal(0)
    for below in sorted(thresholds, reverse=True):
        credit += Decimal(draw(st.integers(0, 4000))).scaleb(-2)
        tiers.append((below, min(credit, Decimal(100)).normalize()))
    terms = OracleTerms(
        **{**terms.__dict__, "tiers": tuple((Fraction(b), Fraction(c)) for b, c in tiers)}
    )
    case: dict[str, Any] = {
        "id": "random",
        "period": {"start": start.isoformat(), "end": end.isoformat(), "tz": tz},
        "outages": [[iso(a), iso(b)] for a, b in found.outages],
        "maintenance": [[iso(a), iso(b)] for a, b in found.maintenance],
        "unknown": [[iso(a), iso(b)] for a, b in found.unknown],
        "exclusions": [
            {"start": iso(a), "end": iso(b), "reason": "ticket 4411", "kind": "customer_caused"}
            for a, b in found.exclusions
        ],
        "accounting": accounting,
        "maintenance_convention": terms.maintenance,
        "unknown_policy": terms.unknown,
        "min_downtime_minutes": terms.min_run,
        "target": target,
        "tiers": [{"below": str(b), "credit_percent": str(c)} for b, c in tiers],
        "monthly_fee": str(fee),
        "currency": currency,
        "rounding": terms.rounding,
    }
    if cap is not None:
        case["credit_cap_percent"] = str(cap)
    return case, terms, found, s, e


oracle_settings = settings(
    max_examples=ORACLE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@oracle_settings
@given(contracts())
def test_what_if_agrees_with_the_oracle(
    drawn: tuple[dict[str, Any], OracleTerms, OracleSpans, int, int],
) -> None:
    case, terms, found, start, end = drawn
    got = evaluate_case(case)
    truth = evaluate(start, end, found, terms)
    assert got.fields == whatif_fields(truth, terms)
    owed = f"Amount owed: {truth.amount} {terms.currency} "
    assert any(line.startswith(owed) for line in got.lines), got.lines


@settings(oracle_settings, max_examples=MINUTE_EXAMPLES)
@given(contracts(longest=600, rules=("minutes_full",)))
def test_whole_minutes_agree_with_the_oracle_over_a_few_minutes(
    drawn: tuple[dict[str, Any], OracleTerms, OracleSpans, int, int],
) -> None:
    # minutes_full over periods of at most ten minutes, where every minute holds edges:
    # runs, partly removed minutes and the minimum run length meet there.
    case, terms, found, start, end = drawn
    assert evaluate_case(case).fields == whatif_fields(evaluate(start, end, found, terms), terms)


# --- the report path: state intervals with gaps, coverage and the verdict -----------

STATES = ["up", "down", "degraded", "maintenance", "unknown", "gap"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[ReportPeriod, list[StateInterval], OracleSpans]:
    """A short period and one source's state intervals around it, gaps included."""
    tz, start, end = draw(periods(3600))
    s, e = int(start.timestamp()), int(end.timestamp())
    found: dict[str, list[tuple[int, int]]] = {name: [] for name in STATES}
    intervals = []
    at = s - draw(st.integers(0, 120))
    while at < e + 60:
        length = draw(st.integers(1, 60) | st.integers(1, 900))
        state = draw(st.sampled_from(STATES))
        found[state].append((at, at + length))
        if state != "gap":
            begin = datetime.fromtimestamp(at, UTC)
            intervals.append(
                StateInterval("api", State(state), begin, begin + timedelta(seconds=length))
            )
        at += length
    found["unknown"] += found["gap"] + [(s - 10**6, found_first(found, s)), (at, e + 10**6)]
    spans = OracleSpans(
        outages=found["down"],
        maintenance=found["maintenance"],
        unknown=found["unknown"],
        degraded=found["degraded"],
    )
    return ReportPeriod("random", tz, start, end), intervals, spans


def found_first(found: dict[str, list[tuple[int, int]]], fallback: int) -> int:
    return min((a for spans in found.values() for a, _ in spans), default=fallback)


@oracle_settings
@given(
    histories(),
    st.sampled_from(ACCOUNTING),
    st.sampled_from(["exclude_from_total", "count_as_up"]),
    st.sampled_from(["up", "down", "exclude"]),
    st.integers(0, 4),
    st.sampled_from(["0", "50", "90", "99.5", "100"]),
    st.sampled_from(TARGETS),
)
def test_coverage_and_verdict_agree_with_the_oracle(
    history: tuple[ReportPeriod, list[StateInterval], OracleSpans],
    accounting: str,
    maintenance: str,
    unknown: str,
    min_run: int,
    min_coverage: str,
    target: str,
) -> None:
    period, intervals, found = history
    min_run = min_run if accounting == "minutes_full" else 0
    contract = Contract(
        id="c",
        customer_id="C-1",
        customer_name="C",
        monitors=("api",),
        target=Decimal(target),
        tz=period.tz,
        terms=AccountingTerms(
            accounting=Accounting(accounting),
            unknown=UnknownPolicy(unknown),
            maintenance=MaintenancePolicy(maintenance),
            min_downtime_minutes=min_run,
        ),
        credit=CreditTerms((Tier(Decimal(99), Decimal(10)),), None, Decimal("100.00"), "EUR"),
        min_coverage=Decimal(min_coverage),
    )
    report = evaluate_contract(contract, period, Evidence(states={"api": intervals}))
    terms = OracleTerms(
        accounting=accounting,
        maintenance=maintenance,
        unknown=unknown,
        min_run=min_run,
        target=Fraction(Decimal(target)),
        tiers=((Fraction(99), Fraction(10)),),
        cap=None,
        fee=Fraction(100),
        currency="EUR",
        rounding="half_up",
    )
    s, e = int(period.start.timestamp()), int(period.end.timestamp())
    truth = evaluate(s, e, found, terms)
    seen = sum(state_at(second, found) != "unknown" for second in range(s, e))
    coverage = Fraction(seen, e - s)
    if truth.total == 0 or coverage * 100 < Fraction(Decimal(min_coverage)):
        verdict = Verdict.INSUFFICIENT_DATA
    else:
        verdict = Verdict.MET if truth.percent >= terms.target else Verdict.NOT_MET
    assert report.coverage == coverage
    assert (report.total, report.bad) == (truth.total, truth.bad)
    assert report.sli_percent == (truth.percent if truth.total else None)
    assert report.verdict is verdict
    assert report.summary()["credit_amount"] == truth.amount
