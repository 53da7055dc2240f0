"""The scheduler: phase spread, intervals, concurrency limit, lateness, overlap."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from probes import tcp
from probes.dispatch import Check
from probes.resources import ProbeResources
from probes.result import Result
from probes.scheduler import Scheduler, phase
from sla_engine.time.states import State


def make_check(monitor_id: str, interval: float = 1.0, timeout: float = 1.0) -> Check:
    return Check(monitor_id, "tcp", "127.0.0.1:1", interval, timeout, tcp.Settings())


def fake_runner(
    duration: float,
    log: list[tuple[str, float]],
    active: list[int] | None = None,
    ends: list[tuple[str, float]] | None = None,
):  # type: ignore[no-untyped-def]
    """A runner that takes ``duration`` and records when each check started (and ended)."""
    from probes.context import ProbeContext

    async def run(check: Check, location: str, resources: ProbeResources) -> Result:
        loop = asyncio.get_running_loop()
        log.append((check.monitor_id, loop.time()))
        if active is not None:
            active[0] += 1
            active[1] = max(active[1], active[0])
        try:
            await asyncio.sleep(duration)
        finally:
            if active is not None:
                active[0] -= 1
            if ends is not None:
                ends.append((check.monitor_id, loop.time()))
        return ProbeContext(check.monitor_id, location, check.timeout, resources).up()

    return run


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` every 10 ms, at most ``timeout`` seconds."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not met within {timeout}s")


def test_phase_is_stable_and_spread() -> None:
    assert phase("api", 30) == phase("api", 30)
    offsets = [phase(f"monitor-{i}", 30) for i in range(2000)]
    assert all(0 <= o < 30 for o in offsets)
    # Evenly spread: each of 10 buckets of 3 s holds roughly a tenth.
    buckets = [0] * 10
    for o in offsets:
        buckets[int(o // 3)] += 1
    assert min(buckets) > 140, buckets
    assert max(buckets) < 260, buckets


async def test_checks_run_on_their_interval_with_lateness_recorded() -> None:
    """Each start is on its check's grid (phase + k x interval) plus the lateness it
    reported. Timing is checked against the scheduler's own account (the clock read in
    the lateness callback, in the same step as the start), so a loaded machine makes
    checks late, never the test wrong, while a schedule that drifts (counted from the
    end of the last check, or from its late start) is off the grid within a few steps.
    """
    loop = asyncio.get_running_loop()
    log: list[tuple[str, float]] = []
    lateness: list[tuple[float, float]] = []  # (lateness, clock when it was reported)
    results: list[Result] = []
    intervals = {"a": 0.2, "b": 0.3}
    sched = Scheduler(
        [make_check(m, i) for m, i in intervals.items()],
        location="here",
        sink=results.append,
        on_lateness=lambda late: lateness.append((late, loop.time())),
        runner=fake_runner(0.08, log),
    )
    task = asyncio.create_task(sched.run())
    try:
        await wait_until(lambda: sum(m == "a" for m, _ in log) >= 10 and len(lateness) == len(log))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # The scheduler reports lateness as it starts a check, and the check logs its start
    # as it runs: the same order, so the two lists pair up.
    assert len(lateness) >= len(log) >= 15
    assert all(late >= 0 for late, _ in lateness)
    for monitor, interval in intervals.items():
        offset = phase(monitor, interval)
        steps = []
        for (m, _), (late, reported) in zip(log, lateness, strict=False):
            if m != monitor:
                continue
            due = reported - late
            k = round((due - offset) / interval)
            assert abs(due - (offset + k * interval)) < 0.005, (monitor, due, offset, k)
            steps.append((k, late))
        # Consecutive grid points, unless a start was more than an interval late (then
        # the missed wake-ups are skipped, keeping the phase).
        for (k0, late0), (k1, _) in itertools.pairwise(steps):
            assert k1 == k0 + 1 or (k1 > k0 and late0 > interval), steps
    assert {r.location for r in results} == {"here"}
    assert all(r.state is State.UP for r in results)


async def test_concurrency_limit_is_respected() -> None:
    log: list[tuple[str, float]] = []
    active = [0, 0]
    sched = Scheduler(
        [make_check(f"m{i}", 0.5) for i in range(40)],
        location="here",
        sink=lambda r: None,
        concurrency=5,
        runner=fake_runner(0.05, log, active),
    )
    task = asyncio.create_task(sched.run())
    try:
        await wait_until(lambda: len(log) >= 40)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert active[1] == 5


async def test_a_check_still_running_is_not_started_twice() -> None:
    log: list[tuple[str, float]] = []
    ends: list[tuple[str, float]] = []
    skipped: list[str] = []
    sched = Scheduler(
        [make_check("slow", 0.1, timeout=0.1)],
        location="here",
        sink=lambda r: None,
        on_skip=lambda c: skipped.append(c.monitor_id),
        runner=fake_runner(0.35, log, ends=ends),
    )
    task = asyncio.create_task(sched.run())
    try:
        await wait_until(lambda: len(ends) >= 2 and len(skipped) >= 4)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # Each run started after the previous one ended; the wake-ups in between were skipped.
    starts = [t for _, t in log]
    assert all(start >= end for start, (_, end) in zip(starts[1:], ends, strict=False))
    assert set(skipped) == {"slow"}


async def test_replace_adds_and_removes_checks() -> None:
    log: list[tuple[str, float]] = []
    sched = Scheduler(
        [make_check("old", 0.1)], location="x", sink=lambda r: None, runner=fake_runner(0, log)
    )
    task = asyncio.create_task(sched.run())
    try:
        await wait_until(lambda: len(log) >= 2)
        sched.replace([make_check("new", 0.1)])
        # Checks start (and log) in order: those started before replace() come first.
        before = sched.checks_started
        await wait_until(lambda: len(log) >= before + 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert {m for m, _ in log[:before]} == {"old"}
    assert {m for m, _ in log[before:]} == {"new"}


async def test_update_applies_a_difference_and_keeps_phase() -> None:
    log: list[tuple[str, float]] = []
    keep, change, drop = make_check("keep", 0.2), make_check("change", 0.2), make_check("drop", 0.2)
    sched = Scheduler(
        [keep, change, drop], location="x", sink=lambda r: None, runner=fake_runner(0, log)
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(0.5)
    entry = {m: (due, seq) for due, seq, m in sched._heap if sched._live.get(m) == seq}["keep"]
    added, changed, removed = sched.update(
        [
            keep,
            Check("change", "tcp", "127.0.0.1:2", 0.2, 1.0, tcp.Settings()),
            make_check("new", 0.3),
        ]
    )
    assert (added, changed, removed) == ({"new"}, {"change"}, {"drop"})
    # The unchanged check keeps its place; new and changed ones wake at their phase.
    assert {m: (due, seq) for due, seq, m in sched._heap if sched._live.get(m) == seq}[
        "keep"
    ] == entry
    await asyncio.sleep(0.01)
    log.clear()
    await asyncio.sleep(0.7)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    started = {m for m, _ in log}
    assert started == {"keep", "change", "new"}
    for m, at in log:
        interval = 0.3 if m == "new" else 0.2
        off = (at - phase(m, interval)) % interval
        assert min(off, interval - off) < 0.05, (m, off)  # on its phase grid
    assert sum(1 for m, _ in log if m == "change") <= 4  # one schedule, not two
