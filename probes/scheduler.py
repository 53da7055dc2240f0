"""Wake each check on its interval, phase-spread, under a concurrency limit.

One loop keeps a heap of due times on the event loop's monotonic clock. A check's
phase within its interval comes from a hash of its monitor id, so ten thousand
monitors at 30 s spread evenly instead of firing together, and a restart keeps them
where they were. Lateness (start minus due time) is reported for every wake-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Iterable

from probes.dispatch import Check, run_check
from probes.resources import ProbeResources
from probes.result import Result

log = logging.getLogger("slamon.scheduler")

Runner = Callable[[Check, str, ProbeResources], Awaitable[Result]]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def phase(monitor_id: str, interval: float) -> float:
    """A stable offset in ``[0, interval)`` derived from the monitor id."""
    digest = hashlib.blake2b(monitor_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * interval


class Scheduler:
    """Runs checks forever; hand each Result to ``sink``."""

    def __init__(
        self,
        checks: Iterable[Check],
        *,
        location: str,
        sink: Callable[[Result], None],
        resources: ProbeResources | None = None,
        concurrency: int = 256,
        on_lateness: Callable[[float], None] | None = None,
        on_skip: Callable[[Check], None] | None = None,
        runner: Runner = run_check,
        coalesce: float = 0.002,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.location = location
        self.resources = resources or ProbeResources()
        self._sink = sink
        self._runner = runner
        self._on_lateness = on_lateness
        self._on_skip = on_skip
        self._slots = asyncio.Semaphore(concurrency)
        self._checks = {c.monitor_id: c for c in checks}
        self._heap: list[tuple[float, int, str]] = []
        # The sequence number of each monitor's one live heap entry; an entry whose
        # number differs was superseded by update() and is skipped when it comes up.
        self._live: dict[str, int] = {}
        self._seq = itertools.count()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiter: asyncio.Future[None] | None = None
        self._coalesce = coalesce
        self.checks_started = 0
        # Seconds that checks in flight may take to finish once run() is cancelled.
        self.stop_grace = 0.0

    @property
    def checks(self) -> dict[str, Check]:
        """The checks being scheduled, by monitor id."""
        return dict(self._checks)

    def _push(self, due: float, monitor_id: str) -> None:
        seq = next(self._seq)
        self._live[monitor_id] = seq
        heapq.heappush(self._heap, (due, seq, monitor_id))

    def _first_due(self, check: Check, now: float) -> float:
        # The next instant at this check's phase, on a grid anchored at clock zero, so a
        # replaced or restarted scheduler keeps the same phase.
        offset = phase(check.monitor_id, check.interval)
        k = math.ceil((now - offset) / check.interval)
        return offset + k * check.interval

    def replace(self, checks: Iterable[Check]) -> None:
        """Schedule ``checks`` from now on, keeping the phase of unchanged ones."""
        self._checks = {c.monitor_id: c for c in checks}
        now = asyncio.get_running_loop().time()
        self._heap = []
        self._live = {}
        for check in self._checks.values():
            self._push(self._first_due(check, now), check.monitor_id)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def update(self, checks: Iterable[Check]) -> tuple[set[str], set[str], set[str]]:
        """Apply a new set of checks as a difference; return (added, changed, removed).

        An unchanged check keeps its place in the schedule; a new or changed one is
        woken next at its phase; a removed one is never woken again (a check of it in
        flight finishes). Costs time in the number of checks, not a rebuild.
        """
        new = {c.monitor_id: c for c in checks}
        added = set(new) - set(self._checks)
        removed = set(self._checks) - set(new)
        changed = {m for m in set(new) & set(self._checks) if new[m] != self._checks[m]}
        self._checks = new
        for monitor_id in removed:
            self._live.pop(monitor_id, None)
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:  # not running yet: run() schedules everything
            return added, changed, removed
        for monitor_id in sorted(added | changed):
            self._push(self._first_due(new[monitor_id], now), monitor_id)
        if (added or changed) and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return added, changed, removed

    async def _sleep_until(self, when: float | None) -> None:
        """Sleep until ``when`` on the loop's clock (forever if None) or a replace().

        A bare future and one timer handle: asyncio.timeout() and an Event per wake-up
        cost several times more, and this runs once per wake-up.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter = waiter
        timer = None if when is None else loop.call_at(when, _wake, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None

    async def run(self) -> None:
        """Schedule until cancelled; then cancel the checks in flight and close clients.

        With ``stop_grace`` set, checks in flight get that long to finish first.
        """
        loop = asyncio.get_running_loop()
        self.replace(self._checks.values())
        try:
            while True:
                if not self._heap:
                    await self._sleep_until(None)
                    continue
                due, seq, monitor_id = self._heap[0]
                if self._live.get(monitor_id) != seq:
                    heapq.heappop(self._heap)  # superseded by update(), or removed
                    continue
                now = loop.time()
                if due > now:
                    # Sleep at least `coalesce`: at thousands of checks a second, one
                    # wake-up starts a handful of checks instead of one each.
                    await self._sleep_until(max(due, now + self._coalesce))
                    continue
                heapq.heappop(self._heap)
                check = self._checks.get(monitor_id)
                if check is None:
                    continue  # removed by replace()
                self._push(self._next_due(check, due, loop.time()), monitor_id)
                if monitor_id in self._running:
                    if self._on_skip is not None:
                        self._on_skip(check)
                    continue
                await self._slots.acquire()
                started = loop.time()
                if self._on_lateness is not None:
                    self._on_lateness(started - due)
                self.checks_started += 1
                task = asyncio.create_task(self._one(check))
                self._running[monitor_id] = task
        finally:
            tasks = list(self._running.values())
            if tasks and self.stop_grace > 0:
                # A graceful stop: let the checks in flight finish, for a bounded time.
                await asyncio.wait(tasks, timeout=self.stop_grace)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.resources.close()

    @staticmethod
    def _next_due(check: Check, due: float, now: float) -> float:
        nxt = due + check.interval
        if nxt < now:
            # Fell behind by more than an interval: skip the missed wake-ups, keep phase.
            nxt += math.ceil((now - nxt) / check.interval) * check.interval
        return nxt

    async def _one(self, check: Check) -> None:
        try:
            result = await self._runner(check, self.location, self.resources)
            self._sink(result)
        except asyncio.CancelledError:
            raise
        except Exception:
            # run_check never raises; a sink failure must not stop the schedule.
            log.exception(
                "check pipeline failed",
                extra={"monitor": check.monitor_id, "location": self.location},
            )
        finally:
            self._running.pop(check.monitor_id, None)
            self._slots.release()
