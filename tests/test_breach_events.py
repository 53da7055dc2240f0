"""Breaches go out on ``<prefix>/events/breach/<id>``, once per change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from slamon.app import build_runtime
from slamon.config.load import parse_config
from slamon.events import Breach
from slamon.store import migrate


async def test_an_slo_breach_and_its_recovery_are_published_once_each(tmp_path: Path) -> None:
    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/b.db"},
            "confirmation": {"down_after": 1, "up_after": 1},
            "bus": {"kind": "mqtt", "topic_prefix": "acme/v1", "locations": ["oslo"]},
            "monitors": [{"id": "api", "type": "tcp", "target": "127.0.0.1:9"}],
            "slos": [{"id": "api-slo", "name": "API", "monitors": ["api"], "target": 99.9}],
        },
        {},
    )
    runtime = build_runtime(config)
    ingest, ops = runtime.ingest, runtime.ops
    assert ingest is not None and ops is not None
    await migrate.upgrade(runtime.store.engine)
    try:
        now = datetime.now(UTC)
        runtime.engine.ingest(Result("api", "oslo", now - timedelta(minutes=10), State.UP, 0.02))
        runtime.engine.ingest(
            Result("api", "oslo", now - timedelta(minutes=5), State.DOWN, 1.0, ErrorClass.REFUSED)
        )
        await runtime.writer.flush()
        ingest._events.clear()  # the state changes' events
        await ops.evaluate(now)
        await ops.evaluate(now + timedelta(seconds=30))  # still breached: told once
        events = [(t, json.loads(b)) for t, b in ingest._events]
        assert [t for t, _ in events] == ["acme/v1/events/breach/api-slo"]
        body = events[0][1]
        assert body["type"] == "breach" and body["kind"] == "slo"
        assert body["status"] == "breached" and body["name"] == "API"
        assert body["target"] == "99.9"
        assert float(body["availability"]) < 99.9

        ingest._events.clear()
        ops._note_breach(
            Breach("slo", "api-slo", "API", False, now + timedelta(hours=1), "99.9", "99.95")
        )
        [(_topic, payload)] = list(ingest._events)
        assert json.loads(payload)["status"] == "recovered"
    finally:
        await runtime.store.close()
