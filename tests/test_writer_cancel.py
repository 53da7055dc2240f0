"""A stop that lands while a batch commits must not write that batch twice."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from sla_engine.time.states import State
from slamon.store.sql import IntervalChange
from slamon.store.writer import Writer


class CommitsThenWaits:
    """A store whose commit has happened when the writer is cancelled."""

    def __init__(self) -> None:
        self.batches: list[list[IntervalChange]] = []
        self.committed = asyncio.Event()
        self.release = asyncio.Event()

    async def write_batch(self, batch, changes, rollups, checkpoints=()):  # type: ignore[no-untyped-def]
        self.batches.append(list(changes))
        self.committed.set()
        await self.release.wait()
        return len(batch), {}


async def test_cancel_after_commit_writes_each_change_once() -> None:
    store = CommitsThenWaits()
    writer = Writer(store, flush_interval=0.01)  # type: ignore[arg-type]
    writer.add_change(IntervalChange("api", State.UP, datetime.now(UTC)))
    task = asyncio.create_task(writer.run())
    await asyncio.wait_for(store.committed.wait(), 5)
    task.cancel()
    await asyncio.sleep(0)
    store.release.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert len(store.batches) == 1
    assert writer.pending == 0
