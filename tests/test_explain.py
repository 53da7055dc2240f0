"""No sequential scan on a hot path: EXPLAIN the store's own queries on PostgreSQL.

The queries are captured as the store runs them (results insert, interval changes and
lookups, rollups by window, pruning, recent results) against a database holding
benchmark-sized data, then explained with the same parameters.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from probes.result import Result
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.store import migrate
from slamon.store.schema import metadata
from slamon.store.sql import IntervalChange, Store

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
MONITORS, LOCATIONS, DAYS = 400, 3, 8
SKETCH = LatencySketch().to_bytes()


@pytest.fixture
async def big_store(pg_database: str) -> AsyncIterator[Store]:
    store = Store.from_url(pg_database)
    await migrate.upgrade(store.engine)
    start = NOW - timedelta(days=DAYS)
    async with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
        # 8 days of results every 10 minutes per monitor and location: 460,800 rows;
        # hourly rollups for them; ten state changes per monitor.
        await conn.execute(
            text(
                "INSERT INTO results (id, monitor_id, location, at, state, latency) "
                "SELECT md5(m || '-' || l || '-' || t), 'm' || m, 'loc' || l, "
                "  CAST(:start AS timestamptz) + t * interval '10 minutes', 'up', 0.05 "
                "FROM generate_series(0, :m - 1) m, generate_series(0, :l - 1) l, "
                "  generate_series(0, :days * 144 - 1) t"
            ),
            {"start": start, "m": MONITORS, "l": LOCATIONS, "days": DAYS},
        )
        await conn.execute(
            text(
                "INSERT INTO rollups (monitor_id, location, hour, checks, down, degraded, "
                "  latency_sum, sketch) "
                "SELECT 'm' || m, 'loc' || l, "
                "  CAST(:start AS timestamptz) + h * interval '1 hour', 6, 0, 0, 0.3, "
                "  :sketch "
                "FROM generate_series(0, :m - 1) m, generate_series(0, :l - 1) l, "
                "  generate_series(0, :days * 24 - 1) h"
            ),
            {"start": start, "m": MONITORS, "l": LOCATIONS, "days": DAYS, "sketch": SKETCH},
        )
        await conn.execute(
            text(
                "INSERT INTO state_intervals (monitor_id, state, start_at, end_at) "
                "SELECT 'm' || m, CASE WHEN k % 2 = 0 THEN 'up' ELSE 'down' END, "
                "  CAST(:start AS timestamptz) + k * interval '18 hours', "
                "  CASE WHEN k < 9 "
                "    THEN CAST(:start AS timestamptz) + (k + 1) * interval '18 hours' END "
                "FROM generate_series(0, :m - 1) m, generate_series(0, 9) k"
            ),
            {"start": start, "m": MONITORS},
        )
        for table in ("results", "rollups", "state_intervals"):
            await conn.execute(text(f"ANALYZE {table}"))
    try:
        yield store
    finally:
        await store.close()


def scans(plan: Any) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in a JSON plan."""
    out = []
    if isinstance(plan, dict):
        if "Scan" in plan.get("Node Type", ""):
            out.append((plan["Node Type"], plan.get("Relation Name", "")))
        for child in plan.get("Plans", []):
            out.extend(scans(child))
        if "Plan" in plan:
            out.extend(scans(plan["Plan"]))
    elif isinstance(plan, list):
        for p in plan:
            out.extend(scans(p))
    return out


async def test_hot_queries_use_indexes(big_store: Store) -> None:
    store = big_store
    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            params = parameters[0] if executemany else parameters
            captured.append((statement, params))

    event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    some = [f"m{i}" for i in range(0, MONITORS, 40)]
    day = Interval(NOW - timedelta(days=1), NOW)
    await store.intervals(day, some)
    await store.intervals(Interval(NOW - timedelta(days=30), NOW), ["m7"])
    await store.intervals(day)
    await store.rollups(day, some)
    await store.rollups(Interval(NOW - timedelta(hours=6), NOW))
    await store.recent_results("m3")
    result = Result("m5", "loc1", NOW, State.DOWN, 0.2, id="f" * 32)
    await store.write_batch([result], [IntervalChange("m5", State.DOWN, NOW)], {})
    # Retention keeps 7 of the 8 days: pruning removes the oldest eighth.
    await store.prune_results(NOW - timedelta(days=DAYS) + timedelta(minutes=30), chunk=1000)
    event.remove(store.engine.sync_engine, "before_cursor_execute", capture)

    kinds = {
        "results insert": "INSERT INTO results",
        "rollups upsert": "INSERT INTO rollups",
        "rollups load": "FROM rollups \nWHERE rollups.hour = ",
        "rollups by window": "FROM rollups \nWHERE rollups.hour >=",
        "interval close": "UPDATE state_intervals",
        "intervals by window": "FROM state_intervals \nWHERE state_intervals.start_at <",
        "recent results": "FROM results \nWHERE results.monitor_id =",
        "pruning": "DELETE FROM results",
    }
    seen = set()
    plans = {}
    async with store.engine.connect() as conn:
        for statement, params in captured:
            kind = next((k for k, marker in kinds.items() if marker in statement), None)
            if kind is None:
                continue
            seen.add(kind)
            res = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params)
            plan = res.scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            plans.setdefault(kind, []).append(scans(plan))
        await conn.rollback()
    assert seen == set(kinds), set(kinds) - seen
    seq = {k: p for k, ps in plans.items() for p in ps if any("Seq Scan" in n for n, _ in p)}
    assert not seq, seq
