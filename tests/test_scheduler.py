"""The scheduler: phase spread, intervals, concurrency limit, lateness, overlap."""

from __future__ import annotations

import asyncio
import itertools
import statistics

from probes import tcp
from probes.dispatch import Check
from probes.resources import ProbeResources
from probes.result import Result
from probes.scheduler import Scheduler, phase
from sla_engine.time.states import State


def make_check(monitor_id: str, interval: float = 1.0, timeout: float = 1.0) -> Check:
    return Check(monitor_id, "tcp", "127.0.0.1:1", interval, timeout, tcp.Settings())


def fake_runner(duration: float, log: list[tuple[str, float]], active: list[int] | None = None):  # type: ignore[no-untyped-def]
    """A runner that takes ``duration`` and records when each check started."""
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
        return ProbeContext(check.monitor_id, location, check.timeout, resources).up()

    return run


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
    log: list[tuple[str, float]] = []
    lateness: list[float] = []
    results: list[Result] = []
    sched = Scheduler(
        [make_check("a", 0.2), make_check("b", 0.3)],
        location="here",
        sink=results.append,
        on_lateness=lateness.append,
        runner=fake_runner(0.01, log),
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(1.25)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    a = [t for m, t in log if m == "a"]
    b = [t for m, t in log if m == "b"]
    assert 5 <= len(a) <= 7
    assert 3 <= len(b) <= 5
    gaps = [y - x for x, y in itertools.pairwise(a)]
    assert abs(statistics.mean(gaps) - 0.2) < 0.03
    assert len(lateness) == len(log)
    assert all(x >= 0 for x in lateness)
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
    await asyncio.sleep(1.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert active[1] == 5
    assert len(log) >= 40


async def test_a_check_still_running_is_not_started_twice() -> None:
    log: list[tuple[str, float]] = []
    skipped: list[str] = []
    sched = Scheduler(
        [make_check("slow", 0.1, timeout=0.1)],
        location="here",
        sink=lambda r: None,
        on_skip=lambda c: skipped.append(c.monitor_id),
        runner=fake_runner(0.35, log),
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(1.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert 2 <= len(log) <= 4
    assert skipped


async def test_replace_adds_and_removes_checks() -> None:
    log: list[tuple[str, float]] = []
    sched = Scheduler(
        [make_check("old", 0.1)], location="x", sink=lambda r: None, runner=fake_runner(0, log)
    )
    task = asyncio.create_task(sched.run())
    await asyncio.sleep(0.35)
    sched.replace([make_check("new", 0.1)])
    # A check of "old" started just before replace() may still be on its way in.
    await asyncio.sleep(0.01)
    log.clear()
    await asyncio.sleep(0.35)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert {m for m, _ in log} == {"new"}


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
