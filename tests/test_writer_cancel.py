"""Stopping the writer in the middle of a commit writes each change once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sla_engine.intervals import Interval
from sla_engine.states import State
from slamon.store import migrate
from slamon.store.sql import IntervalChange, Store
from slamon.store.writer import Writer

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class SlowStore(Store):
    """A real store whose commits take a while, so a cancel lands inside one."""

    async def write_batch(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().write_batch(*args, **kwargs)
        await asyncio.sleep(0.2)  # committed, not yet acknowledged to the writer
        return result


async def test_a_cancel_during_a_commit_does_not_write_twice(tmp_path: Path) -> None:
    store = SlowStore(Store.from_url(f"sqlite+aiosqlite:///{tmp_path}/w.db").engine)
    await migrate.upgrade(store.engine)
    writer = Writer(store, flush_interval=0.01)
    task = asyncio.create_task(writer.run())
    writer.add_change(IntervalChange("m", State.UP, T0))
    await asyncio.sleep(0.1)  # the writer is inside write_batch now
    writer.add_change(IntervalChange("m", State.UNKNOWN, T0 + timedelta(seconds=5)))
    task.cancel()  # as stop() does; its finally-block flushes what is left
    with contextlib.suppress(asyncio.CancelledError):
        await task
    history: Sequence[object] = (
        await store.intervals(Interval(T0 - timedelta(hours=1), T0 + timedelta(hours=1)))
    )["m"]
    await store.close()
    assert len(history) == 1, history
