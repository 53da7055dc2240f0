"""Coverage in every SLI: too little evidence is ``insufficient data``, never 100 % or met."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
)
from sla_engine.contracts import Contract, LatencyObjective, ReportPeriod, SLIKind
from sla_engine.incidents import Impact, Incident, IncidentStatus, MaintenanceWindow
from sla_engine.money.credits import CreditTerms, Tier
from sla_engine.reports.report import Evidence, Verdict, evaluate_contract
from sla_engine.slis.incident_response import ResponseLimits
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.states import State, StateInterval

D = Decimal
TIERS = (Tier(D("99.9"), D(10)), Tier(D("99"), D(25)), Tier(D("95"), D(100)))
CREDIT = CreditTerms(TIERS, None, D("1000.00"), "EUR")


def t(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, second, tzinfo=UTC)


def contract(unknown: UnknownPolicy = UnknownPolicy.EXCLUDE, **kw: object) -> Contract:
    base: dict[str, object] = {
        "id": "acme-api",
        "customer_id": "C-1",
        "customer_name": "ACME",
        "components": ("api",),
        "target": D("99.9"),
        "terms": AccountingTerms(accounting=Accounting.SECONDS, unknown=unknown),
        "credit": CREDIT,
    }
    base.update(kw)
    return Contract(**base)  # type: ignore[arg-type]


JUNE = contract().period_named("2026-06")
UP_ALL_MONTH = {"api": [StateInterval("api", State.UP, t(1), None)]}


def up_from(start: datetime) -> dict[str, list[StateInterval]]:
    """Up from ``start`` to the end of June: no data before it."""
    return {"api": [StateInterval("api", State.UP, start, None)]}


def test_a_month_without_data_is_insufficient_data_not_100_percent() -> None:
    report = evaluate_contract(contract(), JUNE, Evidence())
    s = report.summary()
    assert report.coverage == 0
    assert report.verdict is Verdict.INSUFFICIENT_DATA
    assert not report.met
    assert (s["sli_percent"], s["met"], s["coverage_percent"]) == (
        "",
        "insufficient data",
        "0.000000",
    )
    assert (s["credit_percent"], s["credit_amount"]) == ("0", "0.00")
    assert report.lines[-2] == (
        "Coverage: 0 s of 2592000 s had data = 0.000000 % (minimum 90 %; shown cut to 6 decimals)"
    )
    assert report.lines[-1].startswith(
        "Result: insufficient data (less of the period was measured than the contract's minimum)"
    )


def test_unknown_counted_as_down_still_owes_by_the_contract_but_is_not_a_measurement() -> None:
    report = evaluate_contract(contract(UnknownPolicy.DOWN), JUNE, Evidence())
    s = report.summary()
    assert (s["sli_percent"], s["met"], s["credit_percent"]) == (
        "0.000000",
        "insufficient data",
        "100",
    )


@pytest.mark.parametrize(
    ("silent", "verdict"),
    [
        (timedelta(days=3), Verdict.MET),  # exactly 90 % measured: the minimum is met
        (timedelta(days=3, seconds=1), Verdict.INSUFFICIENT_DATA),
    ],
    ids=["exactly-the-minimum", "one-second-short"],
)
def test_the_minimum_coverage_is_inclusive(silent: timedelta, verdict: Verdict) -> None:
    report = evaluate_contract(contract(), JUNE, Evidence(states=up_from(t(1) + silent)))
    assert report.verdict is verdict
    assert report.summary()["sli_percent"] == "100.000000"
    assert report.coverage == Fraction(2592000 - silent // timedelta(seconds=1), 2592000)


def test_min_coverage_is_the_contracts_own() -> None:
    half = Evidence(states=up_from(t(16)))
    assert evaluate_contract(contract(), JUNE, half).verdict is Verdict.INSUFFICIENT_DATA
    lenient = evaluate_contract(contract(min_coverage=D(50)), JUNE, half)
    assert lenient.verdict is Verdict.MET
    assert lenient.summary()["min_coverage_percent"] == "50"
    with pytest.raises(ValueError, match="min_coverage must be a percent"):
        contract(min_coverage=D("100.5"))


def test_an_open_period_is_covered_over_its_elapsed_part() -> None:
    report = evaluate_contract(contract(), JUNE, Evidence(states=up_from(t(2))), now=t(11))
    assert report.coverage == Fraction(9, 10)
    assert report.verdict is Verdict.MET


def test_maintenance_is_known_time_but_a_month_of_it_has_no_availability() -> None:
    rules = AccountingTerms(
        accounting=Accounting.SECONDS,
        unknown=UnknownPolicy.EXCLUDE,
        maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
    )
    window = MaintenanceWindow("m", "move", "", ("api",), t(1), JUNE.end)
    report = evaluate_contract(contract(terms=rules), JUNE, Evidence(maintenance=[window]))
    assert report.coverage == 1
    assert report.sli_percent is None
    assert report.verdict is Verdict.INSUFFICIENT_DATA
    assert "the SLI had nothing to measure" in report.lines[-1]


LATENCY = {
    "sli": SLIKind.LATENCY,
    "target": D("95"),
    "latency": LatencyObjective(D("95"), D("0.3")),
}


def test_latency_without_evidence_is_insufficient_data() -> None:
    # Issue 19: a latency contract with no evidence said "sli 100.000000, met yes".
    report = evaluate_contract(contract(**LATENCY), JUNE, Evidence(states=UP_ALL_MONTH))
    s = report.summary()
    assert report.sli_percent is None
    assert (s["sli_percent"], s["met"], s["coverage_percent"]) == (
        "",
        "insufficient data",
        "100.000000",
    )
    assert (s["total"], s["credit_amount"]) == ("0", "0.00")
    assert "Checks within the limit: none in the period: there is no SLI" in report.text
    assert "Tier: none; without an SLI no tier applies" in report.lines
    assert report.lines[-1].startswith("Result: insufficient data (the SLI had nothing to measure)")


def test_latency_with_checks_but_too_little_time_measured_is_insufficient_data() -> None:
    sketch = LatencySketch()
    sketch.add(0.1, 100)
    ev = Evidence(states=up_from(t(25)), sketches=[sketch])
    report = evaluate_contract(contract(**LATENCY), JUNE, ev)
    assert report.summary()["sli_percent"] == "100.000000"
    assert report.verdict is Verdict.INSUFFICIENT_DATA
    ev = Evidence(states=UP_ALL_MONTH, sketches=[sketch])
    assert evaluate_contract(contract(**LATENCY), JUNE, ev).verdict is Verdict.MET


def test_quality_without_answered_checks_is_insufficient_data() -> None:
    # Issue 19: the same for quality; checks that got no answer are not evidence.
    ev = Evidence(states=UP_ALL_MONTH, checks=40, down_checks=40, unanswered_checks=40)
    report = evaluate_contract(contract(sli=SLIKind.QUALITY, target=D("99")), JUNE, ev)
    s = report.summary()
    assert (s["sli_percent"], s["met"], s["credit_amount"]) == ("", "insufficient data", "0.00")
    assert "Good answered checks: none in the period: there is no SLI" in report.text


RESPONSE = {
    "sli": SLIKind.INCIDENT_RESPONSE,
    "target": D("90"),
    "response": ResponseLimits(timedelta(minutes=15), timedelta(hours=4)),
}


def test_incident_response_without_data_is_insufficient_and_a_watched_quiet_month_is_met() -> None:
    blind = evaluate_contract(contract(**RESPONSE), JUNE, Evidence())
    assert (blind.summary()["sli_percent"], blind.summary()["met"]) == ("", "insufficient data")
    quiet = evaluate_contract(contract(**RESPONSE), JUNE, Evidence(states=UP_ALL_MONTH))
    assert (quiet.summary()["sli_percent"], quiet.summary()["met"]) == ("", "yes")
    assert "Incidents handled in time: none in the period: there is no SLI" in quiet.text
    late = Incident(
        "i1", "i1", ("api",), Impact.MAJOR, IncidentStatus.RESOLVED, t(3), resolved=t(3, 6)
    )
    ev = Evidence(states=up_from(t(20)), incidents=[late])
    few = evaluate_contract(contract(**RESPONSE), JUNE, ev)
    assert (few.summary()["sli_percent"], few.summary()["met"]) == ("0.000000", "insufficient data")


def test_a_report_period_in_a_zone_has_its_real_length_across_a_dst_change() -> None:
    # Found by the report-path oracle: Oslo 02:59:30 (in the spring-forward gap, so
    # 01:59:30 UTC) to 04:00 is 30 s; subtracting datetimes that share one ZoneInfo
    # gives the wall-clock 3630 s.
    oslo = ZoneInfo("Europe/Oslo")
    period = ReportPeriod(
        "x",
        "Europe/Oslo",
        datetime(2026, 3, 29, 2, 59, 30, tzinfo=oslo),
        datetime(2026, 3, 29, 4, tzinfo=oslo),
    )
    assert period.total_seconds == 30
    assert period.start == datetime(2026, 3, 29, 1, 59, 30, tzinfo=UTC)
