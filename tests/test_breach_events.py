"""Breaches go out on ``<prefix>/events/breach/<id>`` once per change, read from a broker.

The engine runs as ``slamon engine`` would (``app.start``) on the machine's Mosquitto;
results reach it over MQTT from a publisher, as from an agent; a separate client
subscribes to the events. Nothing is read from the engine's memory.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from slamon import app as slamon_app
from slamon.bus.wire import encode_result, envelope, results_topic
from tests.brokers import unique_prefix
from tests.conftest import port_open, require
from tests.distributed import distributed_config, mqtt_client, wait_for

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

DOWN_FOR = timedelta(seconds=3)  # the SLO's monitor: down this long, then up
SLO_TARGET = 80  # percent; breached while the downtime is over a fifth of what was measured


def contract_zone(now: datetime) -> str:
    """A zone whose current month began at least 3 hours before ``now``.

    The contract's monitor was down for the last 2 hours, which must fall inside its
    current period. One of UTC and UTC+14 always qualifies: their months start 14 h
    apart.
    """
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if now - month_start >= timedelta(hours=3):
        return "UTC"
    return "Pacific/Kiritimati"


async def test_slo_and_contract_breaches_arrive_from_the_broker_once_each(
    tmp_path: Path,
) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    prefix = unique_prefix()
    now = datetime.now(UTC)
    zone = contract_zone(now)
    assert now - datetime.now(ZoneInfo(zone)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    ) >= timedelta(hours=3)
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/breach.db",
        locations=("oslo",),
        monitors=[
            {"id": "api", "type": "tcp", "target": "127.0.0.1:9"},
            {"id": "web", "type": "tcp", "target": "127.0.0.1:9"},
        ],
        confirmation={"down_after": 2, "up_after": 1},
        bus={"silent_after": 1000},
        alerts={"evaluation_interval": "1s"},
        slos=[{"id": "web-slo", "name": "Web", "monitors": ["web"], "target": str(SLO_TARGET)}],
        contracts=[
            {
                "id": "acme-api",
                "customer": "ACME Corp",
                "customer_id": "C-1001",
                "monitors": ["api"],
                "target": "99.9",
                "timezone": zone,
                "accounting": "seconds",
                "unknown": "exclude",
                "tiers": [{"below": "99.9", "credit_percent": 10}],
                "monthly_fee": "1000.00",
                "currency": "EUR",
            }
        ],
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    events: list[tuple[str, dict[str, Any]]] = []
    try:
        await wait_for(lambda: ingest.connected)
        async with mqtt_client() as sub, mqtt_client() as agent:
            await sub.subscribe(f"{prefix}/events/breach/#", qos=1)
            sent = datetime.now(UTC)

            async def publish(monitor: str, at: datetime, state: State) -> None:
                error = None if state is State.UP else ErrorClass.REFUSED
                r = Result(monitor, "oslo", at, state, 0.01, error)
                body = envelope(encode_result(r), datetime.now(UTC))
                await agent.publish(results_topic(prefix, "oslo", monitor), body, qos=1)

            # The contract's monitor: down for the last two hours, past its 99.9 %
            # budget for the month (43 minutes in a 30-day month).
            await publish("api", sent - timedelta(hours=2), State.DOWN)
            await publish("api", sent - timedelta(hours=2) + timedelta(seconds=1), State.DOWN)
            # The SLO's monitor: down 3 s, up since 1 s before now. Unknown time is left
            # out of an SLO, so it is in breach until the downtime is under 20 % of the
            # time measured, about 11 s from now; then it recovers.
            start = sent - DOWN_FOR - timedelta(seconds=1)
            await publish("web", start, State.DOWN)
            await publish("web", start + timedelta(seconds=0.5), State.DOWN)
            await publish("web", start + DOWN_FOR, State.UP)

            async with asyncio.timeout(40):
                async for m in sub.messages:
                    assert isinstance(m.payload, bytes)
                    events.append((str(m.topic), json.loads(m.payload)))
                    if events[-1][1]["id"] == "web-slo" and events[-1][1]["status"] == "recovered":
                        break
        recovered_at = datetime.now(UTC)
    finally:
        await slamon_app.stop(runtime, tasks)

    # The recovery came about 11 s (11 evaluations) after the first events: a breach told
    # again at a later evaluation would have arrived before it.
    assert recovered_at - sent > timedelta(seconds=5)
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for topic, body in events:
        by_topic.setdefault(topic, []).append(body)
    assert sorted(by_topic) == [
        f"{prefix}/events/breach/acme-api",
        f"{prefix}/events/breach/web-slo",
    ]
    # Once each: the contract's breach, the SLO's breach and its recovery.
    assert [b["status"] for b in by_topic[f"{prefix}/events/breach/acme-api"]] == ["breached"]
    assert [b["status"] for b in by_topic[f"{prefix}/events/breach/web-slo"]] == [
        "breached",
        "recovered",
    ]
    [contract] = by_topic[f"{prefix}/events/breach/acme-api"]
    assert {k: contract[k] for k in ("type", "kind", "id", "name", "status")} == {
        "type": "breach",
        "kind": "contract",
        "id": "acme-api",
        "name": "ACME Corp",
        "status": "breached",
    }
    breached, recovered = by_topic[f"{prefix}/events/breach/web-slo"]
    assert {k: breached[k] for k in ("type", "kind", "id", "name", "status", "target")} == {
        "type": "breach",
        "kind": "slo",
        "id": "web-slo",
        "name": "Web",
        "status": "breached",
        "target": str(SLO_TARGET),
    }
    assert float(breached["availability"]) < SLO_TARGET
    assert float(recovered["availability"]) >= SLO_TARGET
    # Told at the evaluation that saw the change: within a few evaluation intervals.
    for body in (contract, breached, recovered):
        assert sent <= datetime.fromisoformat(body["at"]) <= recovered_at
