"""Issue 5's 'done means': a target goes down and comes back; everyone is told, once.

The whole application runs in this process against real receivers: Debian's
Alertmanager on a free loopback port, an HTTP webhook receiver, the machine's
Mosquitto and an aiosmtpd server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from sla_engine.incidents import Impact
from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.config.load import parse_config
from tests.conftest import Targets
from tests.receivers import (
    HttpReceiver,
    alertmanager,
    alertmanager_alerts,
    mqtt_messages,
    smtp_server,
)

INTERVAL = 1.0


async def within(seconds: float, predicate: Callable[[], bool]) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    assert predicate(), f"not within {seconds}s"


@pytest.mark.slow
async def test_down_and_back_tells_everyone_once(
    targets: Targets, aiohttp_client, aiohttp_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    hook = HttpReceiver()
    hook_server = await aiohttp_server(hook.app())
    prefix = f"test-{uuid.uuid4().hex[:10]}/slamon/v1/events"
    async with (
        alertmanager(tmp_path) as am_url,
        mqtt_messages(prefix) as mqtt,
        smtp_server() as (smtp_port, inbox),
    ):
        config = parse_config(
            {
                "store": {
                    "url": f"sqlite+aiosqlite:///{tmp_path}/done.db",
                    "flush_interval": "50ms",
                },
                "confirmation": {"down_after": 2, "up_after": 2},
                "monitors": [
                    {
                        "id": "api",
                        "name": "Public API",
                        "type": "http",
                        "target": targets.url("/toggle"),
                        "interval": "1s",
                        "timeout": "1s",
                    }
                ],
                "notifiers": [
                    {"id": "am", "type": "alertmanager", "url": am_url},
                    {"id": "hook", "type": "webhook", "url": str(hook_server.make_url("/hook"))},
                    {"id": "bus", "type": "mqtt", "topic_prefix": prefix},
                    {
                        "id": "mail",
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": smtp_port,
                        "from": "slamon@example.test",
                        "to": ["oncall@example.test"],
                    },
                ],
            },
            {},
        )
        runtime = build_runtime(config)
        client = await aiohttp_client(create_app(runtime))
        engine = runtime.engine
        ops = runtime.ops
        assert ops is not None
        for _ in range(300):
            if engine.state("api") is State.UP:
                break
            await asyncio.sleep(0.05)
        assert engine.state("api") is State.UP

        targets.healthy = False
        for _ in range(300):
            if engine.state("api") is State.DOWN:
                break
            await asyncio.sleep(0.02)
        assert engine.state("api") is State.DOWN  # confirmed now

        am = next(w for w in ops.hub.workers if w.id == "am")

        def everyone_told() -> bool:
            return (
                bool(ops.incidents.open_by_component)
                and am.sent >= 1
                and len(hook.bodies.get("/hook", [])) == 1
                and len(mqtt) == 1
                and len(inbox) == 1
            )

        await within(INTERVAL, everyone_told)
        [incident] = await ops.incident_store.open_incidents()
        assert (incident.title, incident.impact) == ("Public API is down", Impact.MAJOR)
        held = await alertmanager_alerts(am_url)
        assert [(a["labels"]["alertname"], a["labels"]["monitor"]) for a in held] == [
            ("SlamonMonitorDown", "api")
        ]
        assert hook.bodies["/hook"][0]["status"] == "firing"
        assert mqtt[0][0] == f"{prefix}/alerts/SlamonMonitorDown/api"
        assert inbox[0]["Subject"] == "[FIRING] Public API is down"

        targets.healthy = True
        for _ in range(300):
            if engine.state("api") is State.UP:
                break
            await asyncio.sleep(0.02)
        assert engine.state("api") is State.UP

        def everyone_resolved() -> bool:
            return (
                not ops.incidents.open_by_component
                and len(hook.bodies.get("/hook", [])) == 2
                and len(mqtt) == 2
                and len(inbox) == 2
                and am.depth == 0
                and not am.busy
            )

        await within(INTERVAL, everyone_resolved)
        assert await alertmanager_alerts(am_url) == []
        assert hook.bodies["/hook"][1]["status"] == "resolved"
        assert mqtt[1][1]["status"] == "resolved"
        assert inbox[1]["Subject"] == "[RESOLVED] Public API is down"
        done = await ops.incident_store.incident(incident.id)
        assert done is not None and done.resolved is not None

        # Exactly one of each: nothing more arrives after the resolve. Three more checks
        # of the recovered target go by (each a chance for a spurious notification),
        # every notifier is idle (what it sent has been received), and a marker
        # published after that reaches the MQTT subscriber behind anything sent before.
        ingested = engine.ingested
        await within(10, lambda: engine.ingested >= ingested + 3)
        await within(10, lambda: all(w.depth == 0 and not w.busy for w in ops.hub.workers))
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"t-{uuid.uuid4().hex}") as c:
            await c.publish(f"{prefix}/marker", b'{"marker": true}', qos=1)
        await within(10, lambda: any(topic == f"{prefix}/marker" for topic, _ in mqtt))
        told = [topic for topic, _ in mqtt if topic != f"{prefix}/marker"]
        assert (len(hook.bodies["/hook"]), len(told), len(inbox)) == (2, 2, 2)
        assert await alertmanager_alerts(am_url) == []
        await client.close()
