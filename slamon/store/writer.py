"""The one task that writes: it batches results and interval changes into transactions.

Probing never waits for the database. When the database is away, work waits in a
bounded buffer and is written when it returns; past the bound the oldest raw results
are dropped (and counted), while interval changes are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from slamon.store.sql import (
    Fenced,
    IntervalChange,
    IntervalRevision,
    LocationCheckpoint,
    Rollup,
    Store,
    hour_of,
)

if TYPE_CHECKING:
    from probes.result import Result

log = logging.getLogger("slamon.store.writer")


class Writer:
    """Buffers writes and commits them in batches; counters are read by /metrics."""

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 2000,
        flush_interval: float = 0.5,
        max_pending: int = 500_000,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._results: deque[Result] = deque()
        self._changes: deque[IntervalChange | IntervalRevision] = deque()
        # The latest checkpoint of each location, written with the next batch.
        self._checkpoints: dict[tuple[str, str], LocationCheckpoint] = {}
        self._rollups: dict[tuple[str, str, datetime], Rollup] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._failing_since: float | None = None
        # Results dropped from the head of the queue so far; a batch being written is
        # that head, so a write learns how many of its items were dropped meanwhile.
        self._head_dropped = 0
        self.results_written = 0
        self.results_duplicate = 0
        self.results_dropped = 0
        self.changes_written = 0
        self.revisions_written = 0
        self.batches = 0
        self.errors = 0
        self.last_batch_seconds = 0.0
        # Told of every result once it is committed, or dropped for good (the MQTT
        # ingest acknowledges a message to the broker only then).
        self.on_settled: Callable[[Sequence[Result]], None] | None = None
        # In a cluster (slamon.cluster): the lease each monitor's writes are fenced by,
        # and the leases this engine holds (name: (owner, epoch)). Items of a monitor
        # whose lease is not held, or is refused by the store, are dropped unsettled
        # (their MQTT messages stay unacknowledged for the shard's next owner), and
        # ``on_fenced`` hears which leases were refused.
        self.lease_of: Callable[[str], str] | None = None
        self.fences: dict[str, tuple[str, int]] = {}
        self.on_fenced: Callable[[frozenset[str]], None] | None = None
        self.fence_refusals = 0

    @property
    def pending(self) -> int:
        """Results and changes waiting to be written."""
        return len(self._results) + len(self._changes)

    @property
    def healthy(self) -> bool:
        """False while the last write failed."""
        return self._failing_since is None

    def add_result(self, result: Result) -> None:
        """Queue a raw result; drop the oldest when the buffer is full."""
        self._results.append(result)
        if len(self._results) > self.max_pending:
            dropped = self._results.popleft()
            self.results_dropped += 1
            self._head_dropped += 1
            if self.on_settled is not None:
                self.on_settled((dropped,))
            if self.results_dropped == 1 or self.results_dropped % 10_000 == 0:
                log.error(
                    "write buffer full (%d results): dropped the oldest raw results, "
                    "%d so far; state changes are kept",
                    self.max_pending,
                    self.results_dropped,
                )
        if len(self._results) >= self.batch_size:
            self._wake.set()

    def add_change(self, change: IntervalChange | IntervalRevision) -> None:
        """Queue an interval change or revision; these are never dropped."""
        self._changes.append(change)
        self._wake.set()

    def add_checkpoints(self, checkpoints: Sequence[LocationCheckpoint]) -> None:
        """Queue the engine's checkpoints (a newer one of a location replaces the older)."""
        for c in checkpoints:
            self._checkpoints[(c.monitor_id, c.location)] = c

    async def run(self) -> None:
        """Write until cancelled, then write what is left (best effort)."""
        backoff = self.flush_interval
        started = time.monotonic()
        try:
            while True:
                # A write starts every flush_interval (sooner when a batch is full):
                # the interval counts from the start of the last write, not its end,
                # or results would wait the interval plus the write before theirs.
                wait = backoff if not self.healthy else self.flush_interval
                wait -= time.monotonic() - started
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
                self._wake.clear()
                started = time.monotonic()
                try:
                    while self.pending or self._checkpoints:
                        await self._write_once()
                        if len(self._results) < self.batch_size and not self._changes:
                            break
                    backoff = self.flush_interval
                except Exception as exc:
                    self._note_failure(exc)
                    backoff = min(max(backoff * 2, 0.5), 10.0)
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far; raise if the store fails."""
        while self.pending or self._checkpoints:
            await self._write_once()

    def _note_failure(self, exc: Exception) -> None:
        self.errors += 1
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            log.error(
                "store write failed, will retry: %s: %s; %d waiting in the buffer",
                type(exc).__name__,
                exc,
                self.pending,
            )
        elif self.errors % 20 == 0:
            log.error(
                "store still unavailable after %.0fs: %s; %d waiting, %d dropped so far",
                now - self._failing_since,
                exc,
                self.pending,
                self.results_dropped,
            )

    async def _write_once(self) -> None:
        # Shielded: a stop (cancel) that lands after the commit but before the items
        # are taken off the queues would make the final flush write them again; an
        # interval change applied twice leaves a zero-length interval behind.
        await asyncio.shield(self._write_locked())

    def forget(self, monitors: Collection[str]) -> int:
        """Drop, unsettled, what waits for ``monitors`` (a shard given up); return how many.

        Their cached rollups go too: the shard's next owner writes them, and this
        engine reads them back from the store if the shard comes back.
        """
        if not monitors:
            return 0
        before = self.pending + len(self._checkpoints)
        self._results = deque(r for r in self._results if r.monitor_id not in monitors)
        self._changes = deque(c for c in self._changes if c.monitor_id not in monitors)
        self._checkpoints = {k: c for k, c in self._checkpoints.items() if k[0] not in monitors}
        self._rollups = {k: v for k, v in self._rollups.items() if k[0] not in monitors}
        return before - self.pending - len(self._checkpoints)

    def _fences_for(
        self,
        batch: Sequence[Result],
        changes: Sequence[IntervalChange | IntervalRevision],
        checkpoints: Collection[tuple[str, str]],
    ) -> dict[str, tuple[str, int]] | None:
        lease_of = self.lease_of
        if lease_of is None:
            return None
        names = {lease_of(r.monitor_id) for r in batch}
        names.update(lease_of(c.monitor_id) for c in changes)
        names.update(lease_of(k[0]) for k in checkpoints)
        unheld = frozenset(n for n in names if n not in self.fences)
        if unheld:
            raise Fenced(unheld)
        return {n: self.fences[n] for n in names}

    def _fenced(self, names: frozenset[str]) -> None:
        lease_of = self.lease_of
        assert lease_of is not None
        monitors = {r.monitor_id for r in self._results if lease_of(r.monitor_id) in names}
        monitors.update(c.monitor_id for c in self._changes if lease_of(c.monitor_id) in names)
        monitors.update(k[0] for k in self._checkpoints if lease_of(k[0]) in names)
        dropped = self.forget(monitors)
        self.fence_refusals += 1
        for name in names:
            self.fences.pop(name, None)
        log.error(
            "write refused: %s no longer held by this engine at its epoch; dropped %d "
            "waiting writes of it (their messages go to the new owner)",
            ", ".join(sorted(names)),
            dropped,
        )
        if self.on_fenced is not None:
            self.on_fenced(names)

    async def _write_locked(self) -> None:
        async with self._lock:
            n = min(len(self._results), self.batch_size)
            batch = [self._results[i] for i in range(n)]
            changes = list(self._changes)
            checkpoints = dict(self._checkpoints)
            if not batch and not changes and not checkpoints:
                return
            started = time.perf_counter()
            dropped_before = self._head_dropped
            try:
                fences = self._fences_for(batch, changes, checkpoints)
                rows = list(checkpoints.values())
                if fences is None:
                    inserted, updated = await self.store.write_batch(
                        batch, changes, self._rollups, rows
                    )
                else:
                    inserted, updated = await self.store.write_batch(
                        batch, changes, self._rollups, rows, fences=fences
                    )
            except Fenced as exc:
                self._rollups = {}
                self._fenced(exc.names)
                return
            except BaseException:
                # Cached rollups may hold this batch's counts; the store has the truth.
                self._rollups = {}
                raise
            # Committed: only now take the items off the queues and swap the rollups in.
            # Items of this batch that add_result dropped meanwhile are gone from the
            # queue already, but were written after all: not dropped.
            overlap = min(n, self._head_dropped - dropped_before)
            self.results_dropped -= overlap
            for _ in range(n - overlap):
                self._results.popleft()
            for _ in changes:
                self._changes.popleft()
            for key, c in checkpoints.items():
                if self._checkpoints.get(key) is c:
                    del self._checkpoints[key]
            self._rollups.update(updated)
            self._evict_rollups()
            self.results_written += inserted
            self.results_duplicate += n - inserted
            self.changes_written += len(changes)
            self.revisions_written += sum(isinstance(c, IntervalRevision) for c in changes)
            self.batches += 1
            self.last_batch_seconds = time.perf_counter() - started
            if self.on_settled is not None and batch:
                self.on_settled(batch)
            if self._failing_since is not None:
                log.warning(
                    "store is back after %.1fs; writing the %d waiting items",
                    time.monotonic() - self._failing_since,
                    self.pending + n + len(changes),
                )
                self._failing_since = None

    def _evict_rollups(self) -> None:
        # Keep the current and previous hour in memory; late results for older hours
        # read their row back from the store.
        cutoff = hour_of(datetime.now(UTC)) - timedelta(hours=1)
        if len(self._rollups) and any(k[2] < cutoff for k in self._rollups):
            self._rollups = {k: v for k, v in self._rollups.items() if k[2] >= cutoff}
