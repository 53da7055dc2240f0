"""Data-driven targets: months met per candidate, the cost of its tiers, the suggestion."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sla_engine.accounting.availability import (
    AccountingTerms,
    compute_availability,
    timeline_from_spans,
)
from sla_engine.money.credits import CreditTerms
from sla_engine.reports.suggest import Candidate, default_tiers, suggest_targets
from sla_engine.time.intervals import Interval

D = Decimal
TERMS = AccountingTerms(accounting="seconds", unknown="exclude")
START = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = Interval(START, START + timedelta(days=30))


def month(down_minutes: int) -> tuple[str, object]:
    outage = Interval(START, START + timedelta(minutes=down_minutes))
    return f"{down_minutes}m", compute_availability(timeline_from_spans([outage]), MONTH, TERMS)


def test_default_tiers_drop_thresholds_above_the_target() -> None:
    assert [(t.below, t.credit_percent) for t in default_tiers(D("99.9"))] == [
        (D("99.9"), 10),
        (D(99), 25),
        (D(95), 100),
    ]
    assert [t.below for t in default_tiers(D("98"))] == [D(98), D(95)]


def test_targets_met_and_what_they_cost() -> None:
    months = [month(10), month(60), month(0)]  # 99.976852 %, 99.861111 %, 100 %
    candidates = [
        Candidate(str(t), t, CreditTerms(default_tiers(t), None, D("1000.00"), "EUR"))
        for t in (D("99.5"), D("99.9"), D("99.99"))
    ]
    s = suggest_targets(months, candidates)  # type: ignore[arg-type]
    assert [o.met_count for o in s.outcomes] == [3, 2, 1]
    assert [str(o.credit_amount_total) for o in s.outcomes] == ["0.00", "100.00", "200.00"]
    assert s.suggested_target == D("99.5")
    assert suggest_targets([], candidates).suggested_target is None


def test_months_without_enough_data_are_skipped_and_named() -> None:
    # Issue 13: six months without a single measurement suggested 99.99 %.
    blind = compute_availability(
        timeline_from_spans([], unknown=[MONTH]), MONTH, TERMS
    )  # nothing measured: total 0
    sparse = compute_availability(
        timeline_from_spans([], unknown=[Interval(START, START + timedelta(days=4))]), MONTH, TERMS
    )  # 26 of 30 days measured: 86.7 %
    candidates = [
        Candidate("99.99", D("99.99"), CreditTerms(default_tiers(D("99.99")), None, D(0), "EUR"))
    ]
    none = suggest_targets([("2026-01", blind)] * 6, candidates)
    assert none.months == () and [label for label, _ in none.skipped] == ["2026-01"] * 6
    assert none.suggested_target is None
    mixed = suggest_targets([("a", blind), ("b", sparse), month(0)], candidates)
    assert [label for label, _ in mixed.skipped] == ["a", "b"]
    assert [label for label, _ in mixed.months] == ["0m"]
    assert mixed.suggested_target == D("99.99")
    lenient = suggest_targets([("b", sparse)], candidates, min_coverage=D(80))
    assert [label for label, _ in lenient.months] == ["b"]
