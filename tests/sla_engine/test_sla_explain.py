"""Plain-text credit explanations: exact golden text, determinism, each kind of line."""

from datetime import datetime
from decimal import Decimal

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
    timeline_from_spans,
    timeline_from_states,
)
from sla_engine.accounting.exclusions import Exclusion, ExclusionKind
from sla_engine.money.credits import CreditTerms, Tier
from sla_engine.reports.explain import explain_credit
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import calendar_month
from sla_engine.time.states import State, StateInterval

D = Decimal
OCTOBER = calendar_month(2026, 10, "Europe/Oslo")
TIERS = (Tier(D("99.9"), D(10)), Tier(D("99"), D(25)), Tier(D("95"), D(100)))
CREDIT = CreditTerms(TIERS, D(20), D("1234.56"), "NOK")
SECONDS = AccountingTerms(
    accounting=Accounting.SECONDS,
    unknown=UnknownPolicy.DOWN,
    maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
)


def iv(start: str, end: str) -> Interval:
    return Interval(
        datetime.fromisoformat(start + "+00:00"), datetime.fromisoformat(end + "+00:00")
    )


OUTAGES = [
    iv("2026-10-05T01:00:00", "2026-10-05T03:00:00"),
    iv("2026-10-25T00:30:00", "2026-10-25T01:30:00"),  # across the end of DST
    iv("2026-10-20T12:00:00", "2026-10-20T12:40:00"),
]
MAINTENANCE = [iv("2026-10-05T00:00:00", "2026-10-05T02:00:00")]
UNKNOWN = [iv("2026-10-10T00:00:00", "2026-10-10T00:10:00")]
EXCLUSIONS = [
    Exclusion(
        iv("2026-10-20T12:00:00", "2026-10-20T12:30:00"),
        "customer firewall change, ticket 4411",
        ExclusionKind.CUSTOMER_CAUSED,
    ),
    Exclusion(
        iv("2026-10-28T00:00:00", "2026-10-28T01:00:00"),
        "regional power grid failure",
        ExclusionKind.FORCE_MAJEURE,
    ),
]

GOLDEN = """\
Service credit explanation
Period: 2026-10 (Europe/Oslo), the end is not included
  local: 2026-10-01 00:00:00+02:00 to 2026-11-01 00:00:00+01:00
  UTC:   2026-09-30 22:00:00Z to 2026-10-31 23:00:00Z
  length: 2682000 s
Rules: accounting seconds; maintenance excluded from the total; unknown time counted as down
Maintenance (excluded from the total): 7200 s
  2026-10-05 02:00:00+02:00 to 2026-10-05 04:00:00+02:00 (UTC 2026-10-05 00:00:00Z to \
2026-10-05 02:00:00Z): 7200 s; downtime inside, not counted: 3600 s
Exclusions (not downtime, stay in the total): 1800 s
  customer_caused (customer firewall change, ticket 4411): 2026-10-20 14:00:00+02:00 to \
2026-10-20 14:30:00+02:00 (UTC 2026-10-20 12:00:00Z to 2026-10-20 12:30:00Z): \
downtime not counted: 1800 s
  force_majeure (regional power grid failure): 2026-10-28 01:00:00+01:00 to \
2026-10-28 02:00:00+01:00 (UTC 2026-10-28 00:00:00Z to 2026-10-28 01:00:00Z): \
downtime not counted: 0 s
Unknown time (no data, counted as down): 600 s
Degraded time (answered, counted as up): 0 s
Downtime counted:
  1. 2026-10-05 04:00:00+02:00 to 2026-10-05 05:00:00+02:00 (UTC 2026-10-05 02:00:00Z to \
2026-10-05 03:00:00Z): 3600 s
  2. 2026-10-10 02:00:00+02:00 to 2026-10-10 02:10:00+02:00 (UTC 2026-10-10 00:00:00Z to \
2026-10-10 00:10:00Z): 600 s (of which 600 s without data)
  3. 2026-10-20 14:30:00+02:00 to 2026-10-20 14:40:00+02:00 (UTC 2026-10-20 12:30:00Z to \
2026-10-20 12:40:00Z): 600 s
  4. 2026-10-25 02:30:00+02:00 to 2026-10-25 02:30:00+01:00 (UTC 2026-10-25 00:30:00Z to \
2026-10-25 01:30:00Z): 3600 s
  sum: 8400 s
Total: 2682000 s - 7200 s removed = 2674800 s
Availability: (2674800 - 8400) / 2674800 x 100 = 99.685958 % (shown rounded half up to \
6 decimals; exact value 99.685957828622... %)
Tier: 99.685957828622... % is below 99.9 % -> credit 10 %
Credit: 1234.56 NOK x 10 % = 123.456 NOK
Amount owed: 123.46 NOK (rounded once, half_up, to 2 decimals)
Error budget: (1 - 99.9 / 100) x 2674800 s = 2674.800 s; used 8400 s; remaining \
-5725.200 s = -214.042171 % of the budget
"""


def test_golden_text() -> None:
    timeline = timeline_from_spans(OUTAGES, MAINTENANCE, unknown=UNKNOWN)
    got = explain_credit(
        OCTOBER, timeline, SECONDS, CREDIT, exclusions=EXCLUSIONS, target=D("99.9")
    )
    assert got.text == GOLDEN
    assert got.credit.amount == D("123.46")
    assert got.budget is not None
    assert got.budget.breached


def test_same_input_same_bytes_whatever_the_order() -> None:
    one = explain_credit(
        OCTOBER,
        timeline_from_spans(OUTAGES, MAINTENANCE, unknown=UNKNOWN),
        SECONDS,
        CREDIT,
        exclusions=EXCLUSIONS,
    )
    two = explain_credit(
        OCTOBER,
        timeline_from_spans(OUTAGES[::-1], MAINTENANCE, unknown=UNKNOWN),
        SECONDS,
        CREDIT,
        exclusions=EXCLUSIONS[::-1],
    )
    assert one.text.encode() == two.text.encode()


def test_minutes_cap_and_no_budget_lines() -> None:
    rules = AccountingTerms(
        accounting=Accounting.MINUTES_FULL, unknown=UnknownPolicy.UP, min_downtime_minutes=5
    )
    outages = [
        iv("2026-10-02T10:00:30", "2026-10-02T10:06:30"),
        iv("2026-10-03T00:00", "2026-10-04T00:00"),
    ]
    got = explain_credit(OCTOBER, timeline_from_spans(outages), rules, CREDIT)
    lines = got.lines
    assert (
        "Rules: accounting minutes_full (only whole minutes of downtime, in runs of at least 5)"
        in lines[5]
    )
    assert "Downtime (before minute accounting):" in lines
    assert any(line.endswith(": 5 min") for line in lines)
    assert any(line.endswith(": 1440 min") for line in lines)
    assert "  sum: 1445 min" in lines
    assert "Total: 44700 min - 0 min removed = 44700 min" in lines
    assert "Cap: the credit is capped at 20 % (the tier gives 25 %)" in lines
    assert "Credit: 1234.56 NOK x 20 % = 246.912 NOK" in lines
    assert not any(line.startswith("Error budget") for line in lines)


def test_no_tier_and_period_to_date() -> None:
    now = datetime.fromisoformat("2026-10-15T00:00:00+00:00")
    states = [StateInterval("api", State.UP, OCTOBER.start)]
    timeline = timeline_from_states(states, OCTOBER.interval, now)
    got = explain_credit(OCTOBER, timeline, SECONDS, CREDIT, target=D("99.9"))
    assert "  measured until 2026-10-15 00:00:00Z: the period is not over, figures are to date" in (
        got.lines
    )
    assert "Tier: none; 100 % is not below any threshold (99.9, 99, 95 %)" in got.lines
    assert "Amount owed: 0.00 NOK (rounded once, half_up, to 2 decimals)" in got.lines
    assert not got.availability.complete
