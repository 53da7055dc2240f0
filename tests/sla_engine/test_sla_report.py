"""Contract reports: every SLI kind, exclusions with who and why, evidence, determinism."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
)
from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.contracts import Contract, LatencyObjective, PeriodRule, ReportPeriod, SLIKind
from sla_engine.incidents import Impact, Incident, IncidentStatus, MaintenanceWindow
from sla_engine.money.credits import CreditTerms, Tier
from sla_engine.reports.report import Evidence, evaluate_contract
from sla_engine.slis.incident_response import ResponseLimits
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.states import State, StateInterval

D = Decimal
TIERS = (Tier(D("99.9"), D(10)), Tier(D("99"), D(25)), Tier(D("95"), D(100)))
CREDIT = CreditTerms(TIERS, D(50), D("1000.00"), "EUR")
TERMS = AccountingTerms(
    accounting=Accounting.SECONDS,
    unknown=UnknownPolicy.EXCLUDE,
    maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
)


def t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def contract(**kw: object) -> Contract:
    base: dict[str, object] = {
        "id": "acme-api",
        "customer_id": "C-1",
        "customer_name": "ACME",
        "components": ("api",),
        "target": D("99.9"),
        "terms": TERMS,
        "credit": CREDIT,
    }
    base.update(kw)
    return Contract(**base)  # type: ignore[arg-type]


JUNE = contract().period_named("2026-06")


def si(source: str, state: State, start: datetime, end: datetime | None) -> StateInterval:
    return StateInterval(source, state, start, end)


def incident(ident: str, opened: datetime, resolved: datetime | None, **kw: object) -> Incident:
    return Incident(
        ident,
        f"incident {ident}",
        ("api",),
        Impact.MAJOR,
        IncidentStatus.RESOLVED,
        opened,
        resolved=resolved,
        **kw,  # type: ignore[arg-type]
    )


UP_ALL_MONTH = [si("api", State.UP, t(1), None)]


def test_availability_with_maintenance_exclusion_and_evidence() -> None:
    states = {
        "api": [
            si("api", State.UP, t(1), t(3, 8)),
            si("api", State.DOWN, t(3, 8), t(3, 9)),
            si("api", State.UP, t(3, 9), t(10, 10)),
            si("api", State.DOWN, t(10, 10), t(10, 11)),
            si("api", State.UP, t(10, 11), None),
        ],
        "web": [
            si("web", State.UP, t(1), t(20)),
            si("web", State.DOWN, t(20), t(20, 0, 30)),
            si("web", State.UP, t(20, 0, 30), None),
        ],
    }
    evidence = Evidence(
        states=states,
        maintenance=[MaintenanceWindow("m1", "db upgrade", "", ("api",), t(3, 8), t(3, 8, 30))],
        incidents=[
            incident("i1", t(3, 8), t(3, 9)),
            incident(
                "i2",
                t(10, 10),
                t(10, 11),
                excluded=ExclusionKind.CUSTOMER_CAUSED,
                exclusion_reason="customer DNS change",
                excluded_by="alice",
            ),
        ],
    )
    report = evaluate_contract(contract(components=("api", "web")), JUNE, evidence)
    s = report.summary()
    # 30 min outage after maintenance + 30 min on web; the excluded hour stays in the total.
    assert s["bad"] == "3600"
    assert s["total"] == str(2592000 - 1800)
    assert s["maintenance_seconds"] == "1800"
    assert s["excluded_seconds"] == "3600"
    assert s["credit_percent"] == "10"
    assert s["credit_amount"] == "100.00"
    assert s["complete"] == "yes"
    assert [(c.sources, c.incidents, str(c.counted)) for c in report.counted] == [
        (("api",), ("i1",), "1800"),
        (("web",), (), "1800"),
    ]
    (ex,) = report.excluded
    assert (ex.id, ex.kind, ex.reason, ex.excluded_by) == (
        "i2",
        "customer_caused",
        "customer DNS change",
        "alice",
    )
    assert ex.downtime_not_counted == timedelta(hours=1)
    assert any("customer_caused (customer DNS change)" in line for line in report.lines)
    assert report == evaluate_contract(contract(components=("api", "web")), JUNE, evidence)


def test_open_period_is_measured_until_now() -> None:
    now = t(16)
    report = evaluate_contract(contract(), JUNE, Evidence(states={"api": UP_ALL_MONTH}), now)
    assert report.measured_until == now
    assert not report.complete
    assert report.summary()["complete"] == "no"
    assert report.summary()["total"] == str(15 * 86400)


def test_unknown_is_reported_and_counted_by_policy() -> None:
    states = {"api": [si("api", State.UP, t(1), t(5)), si("api", State.UP, t(5, 1), None)]}
    down = contract(terms=AccountingTerms(accounting="seconds", unknown="down"))
    report = evaluate_contract(down, JUNE, Evidence(states=states))
    assert report.summary()["unknown_seconds"] == "3600"
    assert report.summary()["bad"] == "3600"
    assert report.counted[0].without_data == timedelta(hours=1)
    up = evaluate_contract(
        contract(terms=AccountingTerms(accounting="seconds", unknown="up")),
        JUNE,
        Evidence(states=states),
    )
    assert (up.summary()["bad"], up.summary()["unknown_seconds"]) == ("0", "3600")


def test_latency_share_within_the_limit() -> None:
    sketch = LatencySketch()
    sketch.add(0.1, 990)
    sketch.add(2.0, 10)
    c = contract(
        sli=SLIKind.LATENCY, target=D("99.5"), latency=LatencyObjective(D("99.5"), D("0.5"))
    )
    report = evaluate_contract(c, JUNE, Evidence(states={"api": UP_ALL_MONTH}, sketches=[sketch]))
    s = report.summary()
    assert (s["unit"], s["total"], s["bad"], s["sli_percent"]) == (
        "checks",
        "1000",
        "10",
        "99.000000",
    )
    assert s["met"] == "no"
    assert s["credit_percent"] == "10"
    assert report.latency is not None and not report.latency.compliant
    assert any(line.startswith("Measured p99.5: 1.99") for line in report.lines)


def test_quality_share_of_good_checks() -> None:
    c = contract(sli=SLIKind.QUALITY, target=D("99"))
    # 1,005 checks: 5 got no answer (availability's business, left out), 10 answered
    # wrongly, and a slow answer (degraded, latency) still counts as good quality.
    ev = Evidence(
        states={"api": UP_ALL_MONTH},
        checks=1005,
        down_checks=12,
        degraded_checks=4,
        unanswered_checks=5,
        assertion_failed_checks=10,
    )
    s = evaluate_contract(c, JUNE, ev).summary()
    assert (s["sli_percent"], s["met"], s["credit_percent"]) == ("99.000000", "yes", "10")


def test_incident_response_counts_late_and_skips_excluded() -> None:
    c = contract(
        sli=SLIKind.INCIDENT_RESPONSE,
        target=D("90"),
        response=ResponseLimits(timedelta(minutes=15), timedelta(hours=4)),
    )
    incidents = [
        Incident(
            "a",
            "a",
            ("api",),
            Impact.MAJOR,
            IncidentStatus.RESOLVED,
            t(2),
            acknowledged=t(2, 0, 10),
            resolved=t(2, 1),
        ),
        Incident(
            "b",
            "b",
            ("api",),
            Impact.MAJOR,
            IncidentStatus.RESOLVED,
            t(3),
            acknowledged=t(3, 0, 20),
            resolved=t(3, 1),
        ),
        Incident(
            "c",
            "c",
            ("api",),
            Impact.MAJOR,
            IncidentStatus.RESOLVED,
            t(4),
            resolved=t(4, 9),
            excluded=ExclusionKind.FORCE_MAJEURE,
            exclusion_reason="flood",
        ),
    ]
    report = evaluate_contract(c, JUNE, Evidence(states={"api": UP_ALL_MONTH}, incidents=incidents))
    assert report.response is not None
    assert (report.response.decided, report.response.met, report.response.breached) == (
        2,
        1,
        ("b",),
    )
    s = report.summary()
    assert (s["sli_percent"], s["credit_percent"], s["credit_amount"]) == (
        "50.000000",
        "50",
        "500.00",
    )


def test_quarterly_contract_asked_for_a_month_reports_the_quarter() -> None:
    c = contract(period=PeriodRule.QUARTER, tz="Europe/Oslo")
    assert c.period_named("2026-11").label == "2026-Q4"
    with pytest.raises(ValueError, match="measured by month"):
        contract().period_named("2026-Q4")


def test_rolling_period() -> None:
    c = contract(period=PeriodRule.ROLLING, window=timedelta(days=30))
    p = c.rolling_period(t(30))
    assert (p.label, p.start, p.end) == ("rolling 30d", t(30) - timedelta(days=30), t(30))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"components": ()}, "covers no monitor"),
        ({"period": PeriodRule.ROLLING}, "a window goes with a rolling period"),
        ({"sli": SLIKind.LATENCY}, "latency terms go with a latency SLI"),
        ({"sli": SLIKind.INCIDENT_RESPONSE}, "response limits go with"),
    ],
)
def test_contract_checks(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        contract(**kw)


# --- properties at the report level --------------------------------------------------

HOURS = 30 * 24
offsets = st.integers(0, HOURS * 60)


@st.composite
def outages(draw: st.DrawFn) -> list[tuple[int, int]]:
    out = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(offsets)
        out.append((start, start + draw(st.integers(1, 600))))
    return out


def states_of(spans: list[tuple[int, int]], tz: str = "UTC") -> list[StateInterval]:
    zone = ZoneInfo(tz)
    out = [si("api", State.UP, t(1).astimezone(zone), None)]
    for a, b in spans:
        out.append(
            si(
                "api",
                State.DOWN,
                (t(1) + timedelta(minutes=a)).astimezone(zone),
                (t(1) + timedelta(minutes=b)).astimezone(zone),
            )
        )
    return out


accountings = st.sampled_from(list(Accounting))
prop = settings(deadline=None, max_examples=60)


@prop
@given(outages(), outages(), accountings)
def test_report_availability_is_a_percent_and_monotonic(
    down: list[tuple[int, int]], more: list[tuple[int, int]], accounting: Accounting
) -> None:
    c = contract(terms=AccountingTerms(accounting=accounting, unknown="down"))
    before = evaluate_contract(c, JUNE, Evidence(states={"api": states_of(down)}))
    after = evaluate_contract(c, JUNE, Evidence(states={"api": states_of(down + more)}))
    assert 0 <= before.sli_percent <= 100
    assert after.sli_percent <= before.sli_percent
    assert after.credit.credit_percent >= before.credit.credit_percent


@prop
@given(outages(), st.integers(1, HOURS - 1))
def test_report_downtime_splits_and_adds_up(down: list[tuple[int, int]], cut: int) -> None:
    c = contract()
    middle = t(1) + timedelta(hours=cut)
    ev = Evidence(states={"api": states_of(down)})
    whole = evaluate_contract(c, JUNE, ev)
    left = evaluate_contract(c, ReportPeriod("a", "UTC", JUNE.start, middle), ev)
    right = evaluate_contract(c, ReportPeriod("b", "UTC", middle, JUNE.end), ev)
    assert left.bad + right.bad == whole.bad
    assert left.availability.downtime + right.availability.downtime == whole.availability.downtime


@prop
@given(outages(), st.sampled_from(["Europe/Oslo", "Asia/Kolkata", "Pacific/Chatham"]))
def test_display_zone_never_changes_a_utc_result(down: list[tuple[int, int]], tz: str) -> None:
    c = contract()
    utc = evaluate_contract(c, JUNE, Evidence(states={"api": states_of(down)}))
    local = evaluate_contract(c, JUNE, Evidence(states={"api": states_of(down, tz)}))
    assert utc.summary() == local.summary()
    assert utc.lines == local.lines
