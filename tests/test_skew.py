"""Clock skew estimation from (receive time, receive minus sent) samples."""

from __future__ import annotations

import pytest

from slamon.bus.skew import ClockSkew


def test_the_smallest_recent_sample_is_the_offset() -> None:
    skew = ClockSkew(tolerance=2, settle=10, window=60)
    assert skew.estimate is None and skew.correction == 0
    for t in range(20):
        # 90 s behind, plus 5 to 50 ms of travel.
        skew.add(1000 + t, 90 + 0.005 * (1 + t % 10))
    assert skew.estimate == pytest.approx(90.005)
    assert skew.settled
    assert skew.correction == pytest.approx(90.005)


def test_a_burst_of_queued_messages_is_not_trusted() -> None:
    # After a restart, messages queued by the broker arrive within a second, each with
    # a long travel time: they must not move check times later.
    skew = ClockSkew(tolerance=2, settle=10, window=60)
    for i in range(500):
        skew.add(2000 + i / 1000, 60 - i * 0.1)
    assert skew.estimate == pytest.approx(10.1)
    assert not skew.settled
    assert skew.correction == 0


def test_small_offsets_are_measured_but_not_corrected() -> None:
    skew = ClockSkew(tolerance=2, settle=5, window=60)
    for t in range(10):
        skew.add(t, -0.4)
    assert skew.estimate == pytest.approx(-0.4)
    assert skew.correction == 0


def test_old_samples_leave_the_window() -> None:
    skew = ClockSkew(tolerance=1, settle=5, window=30)
    for t in range(40):
        skew.add(t, 50.0)
    for t in range(40, 100):
        skew.add(t, -20.0 if t > 45 else 50.0)
    assert skew.estimate == -20.0
    skew2 = ClockSkew(tolerance=1, settle=5, window=30)
    for t in range(40):
        skew2.add(t, -20.0 if t < 5 else 50.0)
    assert skew2.estimate == 50.0  # the clock was fixed more than a window ago
