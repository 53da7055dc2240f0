"""Confirmation: N failures to go down, M successes to recover, back-dated starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from sla_engine.accounting.confirmation import ConfirmPolicy, Transition
from sla_engine.accounting.timeline import LocationTimeline, from_us, to_us
from sla_engine.time.states import State

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
U, D, G = State.UP, State.DOWN, State.DEGRADED


def run(states: str, policy: ConfirmPolicy) -> list[Transition]:
    """Feed checks one per 10 s ('u', 'd', 'g'); return the transitions."""
    code = {"u": U, "d": D, "g": G}
    tl = LocationTimeline(policy, cover=10_000_000, silence=30_000_000)
    for i, ch in enumerate(states):
        tl.add(to_us(T0 + timedelta(seconds=10 * i)), code[ch])
    points = [(to_us(T0), State.UNKNOWN), *tl.points]
    return [Transition(a[1], b[1], from_us(b[0])) for a, b in pairwise(points)]


def at(i: int) -> datetime:
    return T0 + timedelta(seconds=10 * i)


@pytest.mark.parametrize(
    ("checks", "policy", "expected"),
    [
        ("uu", ConfirmPolicy(3, 2), [Transition(State.UNKNOWN, U, at(0))]),
        ("u", ConfirmPolicy(3, 2), []),
        (
            "uudduuddd",
            ConfirmPolicy(3, 2),
            [Transition(State.UNKNOWN, U, at(0)), Transition(U, D, at(6))],
        ),
        (
            "uuddduduu",
            ConfirmPolicy(3, 2),
            [Transition(State.UNKNOWN, U, at(0)), Transition(U, D, at(2)), Transition(D, U, at(7))],
        ),
        (
            "udud",
            ConfirmPolicy(1, 1),
            [
                Transition(State.UNKNOWN, U, at(0)),
                Transition(U, D, at(1)),
                Transition(D, U, at(2)),
                Transition(U, D, at(3)),
            ],
        ),
        (
            "uugggd",
            ConfirmPolicy(3, 1),
            [Transition(State.UNKNOWN, U, at(0)), Transition(U, G, at(2))],
        ),
        ("ddd", ConfirmPolicy(3, 2), [Transition(State.UNKNOWN, D, at(0))]),
    ],
    ids=[
        "up-confirmed-after-two",
        "one-success-not-enough",
        "flap-does-not-confirm-then-outage-starts-at-first-failure",
        "recovery-starts-at-first-success-of-confirming-run",
        "no-confirmation",
        "degraded-confirms-like-down",
        "down-from-unknown",
    ],
)
def test_confirmation(checks: str, policy: ConfirmPolicy, expected: list[Transition]) -> None:
    assert run(checks, policy) == expected


def test_an_older_result_is_placed_by_its_time() -> None:
    tl = LocationTimeline(ConfirmPolicy(2, 1), cover=10_000_000, silence=30_000_000)
    tl.add(to_us(at(5)), D)
    assert tl.points == []  # one failure: not confirmed
    tl.add(to_us(at(4)), D)  # came later, measured earlier: two in a row
    assert tl.points == [(to_us(at(4)), D)]


def test_policy_validates() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ConfirmPolicy(0, 1)
