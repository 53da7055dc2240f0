"""Incident acknowledge and resolve times against their limits."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from sla_engine.slis.incident_response import (
    IncidentTimes,
    ResponseLimits,
    evaluate_incident,
    incident_response_sli,
)
from sla_engine.time.intervals import Interval

T0 = datetime(2026, 10, 1, tzinfo=UTC)
LIMITS = ResponseLimits(acknowledge=timedelta(minutes=15), resolve=timedelta(hours=4))
NOW = T0 + timedelta(days=2)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# (id, acknowledged after, resolved after, now after; expected ack/resolve: met, pending, breach)
CASES = [
    ("fast", 5, 60, None, "met", "met"),
    ("ack-exactly-at-limit", 15, 240, None, "met", "met"),
    ("ack-one-second-late", 15 + 1 / 60, 60, None, "breach", "met"),
    ("resolved-late", 5, 241, None, "met", "breach"),
    ("open-within-limits", None, None, 10, "pending", "pending"),
    ("unacknowledged-past-limit", None, None, 16, "breach", "pending"),
    ("acked-open-past-resolve-limit", 5, None, 300, "met", "breach"),
    ("resolved-without-ack-in-time", None, 10, None, "met", "met"),
    ("resolved-without-ack-late", None, 20, None, "breach", "met"),
]


def outcome(met: bool, pending: bool, breached: bool) -> str:
    assert met + pending + breached == 1
    return "met" if met else "pending" if pending else "breach"


@pytest.mark.parametrize(
    ("name", "ack", "resolved", "now", "ack_outcome", "resolve_outcome"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_evaluate_incident(
    name: str,
    ack: float | None,
    resolved: float | None,
    now: float | None,
    ack_outcome: str,
    resolve_outcome: str,
) -> None:
    incident = IncidentTimes(
        name,
        T0,
        None if ack is None else at(ack),
        None if resolved is None else at(resolved),
    )
    got = evaluate_incident(incident, LIMITS, NOW if now is None else at(now))
    assert got.incident_id == name
    a, r = got.acknowledge, got.resolve
    assert outcome(a.met, a.pending, a.breached) == ack_outcome
    assert outcome(r.met, r.pending, r.breached) == resolve_outcome


def test_durations_are_reported() -> None:
    got = evaluate_incident(IncidentTimes("x", T0, at(7), at(90)), LIMITS, NOW)
    assert got.acknowledge.took == timedelta(minutes=7)
    assert got.resolve.took == timedelta(minutes=90)
    open_one = evaluate_incident(IncidentTimes("y", T0), LIMITS, at(30))
    assert open_one.acknowledge.took is None
    assert open_one.acknowledge.waited == timedelta(minutes=30)


def test_sli_over_a_period() -> None:
    period = Interval(T0, T0 + timedelta(days=31))
    incidents = [
        IncidentTimes("a", at(0), at(5), at(60)),
        IncidentTimes("b", at(100), at(130), at(200)),  # ack late
        IncidentTimes("c", at(1000), at(1005), at(1000 + 300)),  # resolve late
        IncidentTimes("d", at(2000)),  # unacknowledged, past both limits at NOW
        IncidentTimes("e", NOW - timedelta(minutes=1)),  # still pending
        IncidentTimes("before", T0 - timedelta(hours=1), T0, T0),  # outside the period
    ]
    sli = incident_response_sli(incidents, LIMITS, period, NOW)
    assert [r.incident_id for r in sli.responses] == ["a", "b", "c", "d", "e"]
    assert (sli.acknowledged_in_time, sli.acknowledge_decided) == (2, 4)
    assert (sli.resolved_in_time, sli.resolve_decided) == (2, 4)
    assert sli.acknowledge_sli == Fraction(1, 2)
    assert sli.resolve_sli == Fraction(1, 2)
    assert [r.incident_id for r in sli.breaches] == ["b", "c", "d"]


def test_sli_without_incidents_is_one() -> None:
    sli = incident_response_sli([], LIMITS, Interval(T0, NOW), NOW)
    assert sli.acknowledge_sli == 1
    assert sli.resolve_sli == 1


def test_validation() -> None:
    with pytest.raises(ValueError, match="acknowledged before it was opened"):
        IncidentTimes("x", T0, T0 - timedelta(seconds=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        IncidentTimes("x", T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="positive"):
        ResponseLimits(timedelta(0), timedelta(hours=1))
