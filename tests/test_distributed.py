"""Agents in two locations, the machine's Mosquitto, and the engine with its store."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.bus.wire import encode_result, envelope
from slamon.web.keys import RUNTIME
from tests.brokers import unique_prefix
from tests.conftest import Targets, port_open, require
from tests.distributed import (
    clear_retained,
    distributed_config,
    mqtt_client,
    start_agent,
    wait_for,
)
from tests.test_end_to_end import metric

pytestmark = pytest.mark.mqtt


@pytest.fixture
def broker() -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")


async def test_two_locations_quorum_state_topics_and_hostile_messages(
    broker: None, targets: Targets, aiohttp_client, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    prefix = unique_prefix()
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/engine.db",
        monitors=[
            {"id": "api", "type": "http", "target": targets.url("/toggle"), "interval": "1s"},
            {
                "id": "db",
                "type": "tcp",
                "target": targets.host_port,
                "interval": "1s",
                "locations": ["oslo"],
                "public": False,
            },
        ],
    )
    runtime = build_runtime(config)
    client = await aiohttp_client(create_app(runtime))
    engine = client.app[RUNTIME].engine
    ingest = runtime.ingest
    assert ingest is not None
    await wait_for(lambda: ingest.connected)
    oslo = start_agent(config, "oslo", tmp_path / "oslo.db")
    paris = start_agent(config, "paris", tmp_path / "paris.db")
    try:
        async with mqtt_client() as peek:
            await peek.subscribe(f"{prefix}/state/#", qos=1)
            await peek.subscribe(f"{prefix}/events/#", qos=1)

            await wait_for(
                lambda: engine.state("api") is State.UP and engine.state("db") is State.UP
            )
            assert engine.quorum("api") == 2 and engine.quorum("db") == 1
            assert config.checks("paris") and [c.monitor_id for c in config.checks("paris")] == [
                "api"
            ]

            targets.healthy = False
            await wait_for(lambda: engine.state("api") is State.DOWN)
            views = {v.location: v.state for v in engine.location_views("api")}
            assert views == {"oslo": State.DOWN, "paris": State.DOWN}

            seen: dict[str, dict[str, object]] = {}
            async with asyncio.timeout(10):
                async for m in peek.messages:
                    seen[str(m.topic)] = json.loads(m.payload)  # type: ignore[arg-type]
                    state = seen.get(f"{prefix}/state/api", {})
                    incident = any(t.startswith(f"{prefix}/events/incident/") for t in seen)
                    if (
                        state.get("state") == "down"
                        and f"{prefix}/events/state/api" in seen
                        and incident
                    ):
                        break
            assert seen[f"{prefix}/state/api"]["locations"] == {"oslo": "down", "paris": "down"}
            assert seen[f"{prefix}/events/state/api"]["type"] == "state_change"
            [opened] = [v for t, v in seen.items() if t.startswith(f"{prefix}/events/incident/")]
            assert opened["status"] == "opened" and opened["incident"]["components"] == ["api"]

        # The state is retained: a subscriber that comes later gets it at once.
        async with mqtt_client() as late:
            await late.subscribe(f"{prefix}/state/api", qos=1)
            async with asyncio.timeout(5):
                async for m in late.messages:
                    assert m.retain
                    assert json.loads(m.payload)["state"] == "down"  # type: ignore[arg-type]
                    break

        # The SRE view of one monitor's locations; a private monitor needs the admin token.
        body = await (await client.get("/api/v1/monitors/api/locations")).json()
        assert body["state"] == "down" and body["quorum"] == 2
        assert {loc["location"]: loc["state"] for loc in body["locations"]} == {
            "oslo": "down",
            "paris": "down",
        }
        assert abs(body["locations"][0]["clock_skew_seconds"]) < 1
        assert (await client.get("/api/v1/monitors/db/locations")).status == 403
        assert (await client.get("/api/v1/monitors/nope/locations")).status == 404

        # Hostile and malformed messages: rejected, counted, logged; the engine goes on.
        topic = f"{prefix}/results/oslo/api"
        good = oslo.produced[-1]
        forged = envelope(encode_result(good).replace(b'"oslo"', b'"paris"'), good.at)
        hostile = [
            (topic, b"not json at all"),
            (topic, b"{" * 70_000),
            (topic, b'{"schema": "slamon.result/9", "result": {}}'),
            (f"{prefix}/results/oslo/nope", b"{}"),
            (
                f"{prefix}/results/oslo/nope",
                envelope(encode_result(replace(good, monitor_id="nope")), good.at),
            ),
            (topic, forged),
            (f"{prefix}/results/mars/api", envelope(encode_result(good), good.at)),
        ]
        before = engine.ingested
        async with mqtt_client() as pub:
            for t, payload in hostile:
                await pub.publish(t, payload, qos=1)
        await wait_for(lambda: sum(ingest.rejected.values()) >= len(hostile))
        assert dict(ingest.rejected) == {
            "not_json": 1,
            "too_large": 1,
            "wrong_schema": 2,
            "unknown_monitor": 1,
            "forged_location": 2,
        }
        await wait_for(lambda: engine.ingested > before + 4)  # still ingesting
        text = await (await client.get("/metrics")).text()
        assert metric(text, "slamon_bus_messages_rejected_total", reason="forged_location") == 2
        assert metric(text, "slamon_bus_messages_rejected_total", reason="too_large") == 1
        assert (
            metric(text, "slamon_location_state", monitor="api", location="paris", state="down")
            == 1
        )
        assert "rejected a message on" in caplog.text

        # Recovery, then silence: agents stop, both locations become unknown.
        targets.healthy = True
        await wait_for(lambda: engine.state("api") is State.UP)
        await oslo.stop()
        await paris.stop()
        await wait_for(lambda: engine.state("api") is State.UNKNOWN, timeout=10)
        assert "location is unknown" in caplog.text
        await runtime.writer.flush()
        produced = {r.id for r in oslo.produced + paris.produced}
        await wait_for(lambda: oslo.agent.spool.count == 0 and paris.agent.spool.count == 0)
        stored = await runtime.store.result_ids_exist(list(produced))
        # Everything published before the agents stopped is stored (a few last results
        # may still sit in the spools, which were drained above).
        assert stored == produced
    finally:
        await oslo.stop()
        await paris.stop()
        await clear_retained(prefix, ["api", "db"])


async def test_tls_and_a_password_from_the_environment(tmp_path: Path) -> None:
    """Engine and agent reach a broker that demands TLS and a username and password."""
    import shutil
    import subprocess

    import trustme

    from slamon.config.load import parse_config
    from tests.brokers import PrivateBroker

    require(shutil.which("mosquitto_passwd") is not None, "mosquitto_passwd")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "slamon", "s3cret"], check=True)
    broker = PrivateBroker(
        tmp_path,
        extra=(
            f"password_file {passwd}\n"
            f"cafile {tmp_path / 'ca.pem'}\n"
            f"certfile {tmp_path / 'server.pem'}\n"
            f"keyfile {tmp_path / 'server.key'}\n"
        ),
        anonymous=False,
    )
    broker.start()
    prefix = unique_prefix()
    base = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/engine.db",
        port=broker.port,
        monitors=[{"id": "self", "type": "tcp", "target": f"127.0.0.1:{broker.port}"}],
        locations=("oslo",),
    )
    data = base.model_dump(mode="python", exclude_none=True)
    data["bus"].update(
        tls=True,
        ca_file=str(tmp_path / "ca.pem"),
        username="slamon",
        password="${MQTT_PASSWORD}",
    )
    data["monitors"] = [
        {"id": "self", "type": "tcp", "target": f"127.0.0.1:{broker.port}", "interval": "1s"}
    ]
    config = parse_config(data, {"MQTT_PASSWORD": "s3cret"})
    # The same agent with a wrong password, under a client id of its own (were it let
    # in, it must not take over the good agent's session).
    wrong_id = f"wrong-{uuid.uuid4().hex[:8]}"
    wrong = parse_config(
        {**data, "agent": {**data["agent"], "client_id": wrong_id}}, {"MQTT_PASSWORD": "nope"}
    )
    runtime = build_runtime(config)
    from slamon import app as slamon_app

    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    agent = start_agent(config, "oslo", tmp_path / "oslo.db")
    rejected = start_agent(wrong, "oslo", tmp_path / "wrong.db", probe=False)
    try:
        await wait_for(lambda: ingest.connected and agent.agent.connected, 15)
        await wait_for(lambda: runtime.engine.ingested >= 2, 15)
        # A wrong password is refused, and again at every retry: the broker logs three
        # refusals (the only client with a wrong password; its backoff puts them about
        # 0.5 s, 1 s and 2 s apart), and the agent was not connected at any moment.
        refused = "Client <unknown> disconnected, not authorised"
        ever_connected = False

        def refused_three_times() -> bool:
            nonlocal ever_connected
            ever_connected |= rejected.agent.connected
            return broker.log_text().count(refused) >= 3

        await wait_for(refused_three_times, 15, step=0.01)
        assert not ever_connected and not rejected.agent.connected
        assert agent.agent.connected and ingest.connected  # the right password still is
    finally:
        await agent.stop()
        await rejected.stop()
        await slamon_app.stop(runtime, tasks)
        broker.stop()


async def test_a_refused_state_message_is_dropped_counted_and_the_rest_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker whose ACL refuses the retained state topic (MQTT 5 PUBACK 0x87): the
    engine logs and counts it, and its events keep flowing."""
    from datetime import UTC, datetime

    from probes.result import Result
    from slamon import app as slamon_app
    from tests.brokers import PrivateBroker

    prefix = unique_prefix()
    acl = tmp_path / "acl"
    acl.write_text(f"topic readwrite {prefix}/results/#\ntopic readwrite {prefix}/events/#\n")
    broker = PrivateBroker(tmp_path, extra=f"acl_file {acl}\n")
    broker.start()
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/acl.db",
        port=broker.port,
        locations=("oslo",),
        monitors=[{"id": "api", "type": "tcp", "target": "127.0.0.1:9", "interval": "1s"}],
        bus={"silent_after": 1000},
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    try:
        await wait_for(lambda: ingest.connected)
        async with mqtt_client(broker.port) as c:
            await c.subscribe(f"{prefix}/events/state/#", qos=1)
            for state in (State.UP, State.DOWN, State.DOWN):
                r = Result("api", "oslo", datetime.now(UTC), state, 0.01)
                body = envelope(encode_result(r), datetime.now(UTC))
                ingested = runtime.engine.ingested
                await c.publish(f"{prefix}/results/oslo/api", body, qos=1)
                await wait_for(lambda n=ingested: runtime.engine.ingested > n)  # type: ignore[misc]
            changes = []
            async with asyncio.timeout(10):
                async for m in c.messages:
                    changes.append(json.loads(m.payload)["state"])  # type: ignore[arg-type]
                    if changes[-1] == "down":
                        break
        # The outbox went on after the first refusal (events are at least once: one
        # in flight when the broker closed the connection comes again).
        assert [c for k, c in enumerate(changes) if k == 0 or changes[k - 1] != c] == [
            "up",
            "down",
        ]
        await wait_for(lambda: ingest.events_dropped >= 2)
        assert "refused the engine's message" in caplog.text
        # Mosquitto 2.0 may also close the connection after a denied publish ("Bad
        # socket read/write" in its log); the engine reconnects and goes on.
        await wait_for(lambda: ingest.connected)
    finally:
        await slamon_app.stop(runtime, tasks)
        broker.stop()


async def test_an_upgrade_single_result_and_batching_agents_side_by_side(
    broker: None, tmp_path: Path
) -> None:
    """The engine takes slamon.result/1 (agents not yet upgraded, and a spool an old
    agent left) beside slamon.results/2 batches; hostile batches are refused whole or
    result by result, counted by reason; every good result is stored exactly once."""
    from datetime import UTC, datetime, timedelta

    from probes.result import Result
    from slamon import app as slamon_app
    from slamon.bus.agent import Agent, Spool
    from slamon.bus.wire import batch_envelope, results_topic, shard_of, shard_topic

    prefix = unique_prefix()
    monitors = [f"m{i}" for i in range(8)]
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/upgrade.db",
        monitors=[{"id": m, "type": "tcp", "target": "127.0.0.1:9"} for m in monitors],
        bus={"shards": 4, "silent_after": 1000},
        agent={"batch_size": 7},
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    t0 = datetime.now(UTC) - timedelta(minutes=5)

    def made(location: str, n: int, offset: int) -> list[Result]:
        return [
            Result(monitors[i % 8], location, t0 + timedelta(seconds=offset + i), State.UP, 0.01)
            for i in range(n)
        ]

    try:
        await wait_for(lambda: ingest.connected)
        # An agent of today, batching by shard.
        fresh = made("oslo", 60, 0)
        agent = Agent(config, "oslo", Spool(tmp_path / "oslo.db", 10_000))
        for r in fresh:
            agent.sink(r)
        agent.spool_pending()
        # A spool an agent of slamon.result/1 left behind: rows keyed by their topic.
        left = made("paris", 20, 100)
        old_spool = Spool(tmp_path / "paris.db", 10_000)
        old_spool.append(
            [(results_topic(prefix, "paris", r.monitor_id), encode_result(r)) for r in left]
        )
        upgraded = Agent(config, "paris", old_spool)
        runs = [asyncio.create_task(a.run()) for a in (agent, upgraded)]
        # An agent not yet upgraded: one result per message.
        single = made("paris", 10, 200)
        async with mqtt_client() as old:
            for r in single:
                topic = results_topic(prefix, "paris", r.monitor_id)
                await old.publish(topic, envelope(encode_result(r), datetime.now(UTC)), qos=1)

            # Hostile batches.
            api = made("oslo", 1, 230)[0]
            shard = shard_of(api.monitor_id, 4)
            other = next(m for m in monitors if shard_of(m, 4) != shard)
            good, wrong_shard = made("oslo", 2, 240)
            good = Result(api.monitor_id, "oslo", good.at, State.UP, 0.01)
            wrong_shard = Result(other, "oslo", wrong_shard.at, State.UP, 0.01)
            forged = Result(api.monitor_id, "paris", api.at, State.UP, 0.01)
            unknown = Result("nope", "oslo", api.at, State.UP, 0.01)
            mixed = batch_envelope(
                [encode_result(r) for r in (good, wrong_shard, forged, unknown, good)],
                datetime.now(UTC),
                4,
            )
            topic = shard_topic(prefix, "oslo", shard)
            hostile = [
                (topic, b"[" * 70_000),  # too large
                (topic, b'{"schema": "slamon.results/2", "results": [}'),  # not JSON
                (topic, envelope(encode_result(api), datetime.now(UTC))),  # a /1 payload
                (
                    shard_topic(prefix, "oslo", 9),
                    batch_envelope([encode_result(api)], datetime.now(UTC), 4),
                ),
                (
                    shard_topic(prefix, "mars", 0),
                    batch_envelope([encode_result(api)], datetime.now(UTC), 4),
                ),
                (topic, mixed),
            ]
            for t, payload in hostile:
                await old.publish(t, payload, qos=1)
        await wait_for(lambda: sum(ingest.rejected.values()) >= 5)
        assert dict(ingest.rejected) == {
            "too_large": 1,
            "not_json": 1,
            "wrong_schema": 1,
            "bad_topic": 1,
            "forged_location": 1,
        }
        await wait_for(lambda: sum(ingest.results_rejected.values()) >= 4)
        assert dict(ingest.results_rejected) == {
            "wrong_shard": 1,
            "forged_location": 1,
            "unknown_monitor": 1,
            "duplicate": 1,
        }
        expected = {r.id for r in fresh + left + single} | {good.id}
        await wait_for(lambda: agent.spool.count == 0 and upgraded.spool.count == 0)
        await wait_for(lambda: ingest.unacked == 0)
        await runtime.writer.flush()
        assert await runtime.store.result_ids_exist(list(expected)) == expected
        assert await runtime.store.count_results() == len(expected)
        assert agent.messages < len(fresh)  # batched: a message holds several results
        assert upgraded.published == len(left)
        text = await _metrics(runtime)
        assert 'slamon_bus_results_rejected_total{reason="wrong_shard"} 1.0' in text
        assert 'slamon_bus_messages_rejected_total{reason="bad_topic"} 1.0' in text
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
    finally:
        await slamon_app.stop(runtime, tasks)


@pytest.mark.xfail(
    strict=False,
    reason="mosquitto 2.0.11 (Debian 12) now and then never delivers a paused reader's last "
    "max_inflight_messages (20) queued messages, even after newer ones (seen 2026-12-05 with "
    "a private broker, 3 of 6 runs of this file); under investigation, see the stop 22 note",
)
async def test_the_engine_stops_reading_while_the_store_lags_and_loses_nothing(
    broker: None, tmp_path: Path
) -> None:
    """Batches hold many results: a backlog in the broker must not overflow the writer.
    With the writer stopped, reading pauses at half its bound; once the writer catches
    up, reading resumes, and every result is stored, none dropped."""
    from datetime import UTC, datetime, timedelta

    from probes.result import Result
    from slamon import app as slamon_app
    from slamon.bus.agent import Agent, Spool
    from slamon.store import migrate

    prefix = unique_prefix()
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/flow.db",
        monitors=[{"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9"} for i in range(50)],
        store={"max_pending": 2000, "batch_size": 500},
        bus={"silent_after": 1000},
        agent={"batch_size": 100},
    )
    runtime = slamon_app.build_runtime(config)
    await migrate.upgrade(runtime.store.engine)
    ingest, writer = runtime.ingest, runtime.writer
    assert ingest is not None
    consumer = asyncio.create_task(ingest.run())  # the writer does not run yet
    agent = Agent(config, "oslo", Spool(tmp_path / "oslo.db", 100_000))
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    produced = set()
    for i in range(6000):
        r = Result(f"m{i % 50}", "oslo", t0 + timedelta(milliseconds=50 * i), State.UP, 0.01)
        produced.add(r.id)
        agent.sink(r)
    agent.spool_pending()
    publisher = asyncio.create_task(agent.run())
    try:
        await wait_for(lambda: ingest.paused == 1)
        await wait_for(lambda: agent.spool.count == 0)  # the broker holds the rest
        await asyncio.sleep(0.5)
        held = ingest.results_received
        assert 1000 <= held < 6000, held
        assert writer.pending >= held and writer.results_dropped == 0  # and state changes
        # Bounded in time, not in rounds: on a loaded CI box one round (a flush of 500
        # rows to SQLite, then the broker redelivering what reading resumed) can take
        # far longer than 50 ms, and 100 rounds once ran out at 5,500 of 6,000.
        deadline = asyncio.get_running_loop().time() + 60
        for _ in range(2000):
            await writer.flush()  # as the writer's task would
            if ingest.results_received == 6000 and writer.pending == 0:
                break
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert ingest.results_received == 6000
        assert writer.results_dropped == 0
        assert await runtime.store.result_ids_exist(list(produced)) == produced
        await wait_for(lambda: ingest.unacked == 0)
    finally:
        for task in (publisher, consumer):
            task.cancel()
        await asyncio.gather(publisher, consumer, return_exceptions=True)
        await runtime.store.close()


async def _metrics(runtime) -> str:  # type: ignore[no-untyped-def]
    from prometheus_client import generate_latest

    return generate_latest(runtime.registry).decode()


async def test_a_bug_on_one_result_of_a_batch_does_not_hold_back_acknowledgements(
    broker: None, tmp_path: Path
) -> None:
    """A result whose ingestion fails (a bug, injected here) is counted and logged; the
    rest of its batch is stored, the message is acknowledged once they are, and the
    messages after it are acknowledged too (acknowledgements go out in order)."""
    from datetime import UTC, datetime, timedelta

    from probes.result import Result
    from slamon import app as slamon_app
    from slamon.bus.wire import batch_envelope, shard_topic

    prefix = unique_prefix()
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/bug.db",
        monitors=[{"id": "api", "type": "tcp", "target": "127.0.0.1:9"}],
        bus={"silent_after": 1000},
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest, engine = runtime.ingest, runtime.engine
    assert ingest is not None
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    batch = [Result("api", "oslo", t0 + timedelta(seconds=i), State.UP, 0.01) for i in range(3)]
    later = Result("api", "oslo", t0 + timedelta(seconds=10), State.UP, 0.01)
    real_ingest = engine.ingest

    def buggy(result, **kwargs):  # type: ignore[no-untyped-def]
        if result.id == batch[1].id:
            raise RuntimeError("injected bug")
        return real_ingest(result, **kwargs)

    engine.ingest = buggy  # type: ignore[method-assign]
    try:
        await wait_for(lambda: ingest.connected)
        topic = shard_topic(prefix, "oslo", 0)
        async with mqtt_client() as agent:
            now = datetime.now(UTC)
            await agent.publish(
                topic, batch_envelope([encode_result(r) for r in batch], now, 1), qos=1
            )
            await agent.publish(topic, batch_envelope([encode_result(later)], now, 1), qos=1)
        await wait_for(lambda: ingest.internal_errors == 1 and ingest.received == 2)
        await wait_for(lambda: ingest.unacked == 0)
        ids = {batch[0].id, batch[2].id, later.id}
        assert await runtime.store.result_ids_exist([*ids, batch[1].id]) == ids
    finally:
        await slamon_app.stop(runtime, tasks)


async def test_an_agent_clock_past_max_clock_skew_is_refused_and_counted(
    broker: None, targets: Targets, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """bus.max_clock_skew = 10m: an agent 20 minutes ahead is refused, every message,
    counted and logged; one 5 minutes ahead is taken (and corrected)."""
    from datetime import UTC, datetime, timedelta

    from probes.result import Result
    from slamon import app as slamon_app

    caplog.set_level(logging.WARNING, logger="slamon.ingest")
    far, near = timedelta(minutes=20), timedelta(minutes=5)

    def ahead(by: timedelta) -> dict[str, object]:
        return {
            "transform": lambda r: Result(
                r.monitor_id, r.location, r.at + by, r.state, r.latency, r.error, r.detail
            ),
            "clock": lambda: datetime.now(UTC) + by,
        }

    prefix = unique_prefix()
    config = distributed_config(
        prefix=prefix,
        store_url=f"sqlite+aiosqlite:///{tmp_path}/skew.db",
        monitors=[{"id": "api", "type": "tcp", "target": targets.host_port, "interval": "1s"}],
        bus={"max_clock_skew": "10m", "silent_after": 1000},
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    agents = []
    try:
        await wait_for(lambda: ingest.connected)
        oslo = start_agent(config, "oslo", tmp_path / "oslo.db", **ahead(far))  # type: ignore[arg-type]
        paris = start_agent(config, "paris", tmp_path / "paris.db", **ahead(near))  # type: ignore[arg-type]
        agents = [oslo, paris]
        # Refused messages are acknowledged (never redelivered): the agent sees them go.
        await wait_for(lambda: oslo.agent.published >= 3 and paris.agent.published >= 3, 20)
        await wait_for(lambda: ingest.rejected["clock"] >= 3)
        for a in agents:
            a.stop_probing()
        await wait_for(lambda: oslo.agent.spool.count == 0 and paris.agent.spool.count == 0)
        await wait_for(lambda: ingest.unacked == 0)
        await runtime.writer.flush()

        # Batched per shard: one refusal per message, each holding one or more results.
        refused = ingest.rejected["clock"]
        assert dict(ingest.rejected) == {"clock": refused}
        assert 3 <= refused <= len(oslo.produced)
        assert oslo.agent.published == len(oslo.produced)
        stored = await runtime.store.result_ids_exist(
            [r.id for r in oslo.produced + paris.produced]
        )
        assert stored == {r.id for r in paris.produced}
        assert "paris" in ingest.skews and "oslo" not in ingest.skews
        text = generate_latest(runtime.registry).decode()
        assert metric(text, "slamon_bus_messages_rejected_total", reason="clock") == refused
        refusals = re.findall(
            r"results/oslo/shard/0: clock: sent (\d+)s in the future, more than bus.max_clock_skew",
            caplog.text,
        )
        assert refusals and all(1195 <= int(s) <= 1200 for s in refusals), caplog.text
        assert "results/paris/" not in caplog.text
    finally:
        for a in agents:
            await a.stop()
        await slamon_app.stop(runtime, tasks)
        await clear_retained(prefix, ["api"])
