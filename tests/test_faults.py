"""Faults, for real: a killed engine, a stopped broker, an unreachable database, a wrong
clock. Each uses real Mosquitto (a private one where the test stops it) and a real
database; each is bounded in time."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from probes.result import Result
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon import app as slamon_app
from slamon.bus.agent import Agent, Spool
from slamon.bus.wire import encode_result, envelope, results_topic
from slamon.store.sql import Store
from tests.brokers import PrivateBroker, TcpProxy, unique_prefix
from tests.conftest import Targets, port_open, require
from tests.distributed import distributed_config, mqtt_client, start_agent, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.mqtt, pytest.mark.postgres]


def toml_config(
    path: Path, *, store_url: str, broker_port: int, prefix: str, monitors: int
) -> Path:
    lines = [
        "[store]",
        f'url = "{store_url}"',
        'flush_interval = "100ms"',
        "batch_size = 2000",
        "[bus]",
        'kind = "mqtt"',
        f"port = {broker_port}",
        f'topic_prefix = "{prefix}"',
        f'client_id = "engine-{uuid.uuid4().hex[:8]}"',
        'locations = ["a", "b"]',
        'session_expiry = "5m"',
    ]
    for i in range(monitors):
        lines += ["[[monitors]]", f'id = "m{i}"', 'type = "tcp"', 'target = "127.0.0.1:9"']
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_sigkill_the_engine_in_a_stream_of_50000_results_from_two_agents(
    private_broker: PrivateBroker, fresh_pg: str, tmp_path: Path
) -> None:
    total, monitors = 50_000, 100
    prefix = unique_prefix()
    cfg_path = toml_config(
        tmp_path / "engine.toml",
        store_url=fresh_pg,
        broker_port=private_broker.port,
        prefix=prefix,
        monitors=monitors,
    )
    from slamon.config.load import load_config

    config = load_config(cfg_path, {})

    log_file = (tmp_path / "engine.log").open("ab")

    def start_engine() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            # Port 0: the kernel picks the web port; this test only reads the store.
            [sys.executable, "-m", "slamon", "engine", "-c", str(cfg_path), "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )

    store = Store.from_url(fresh_pg)
    engine = start_engine()
    agents: list[Agent] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        # The engine's first start creates its persistent session and subscription.
        await wait_for(
            lambda: "connected to MQTT broker" in (tmp_path / "engine.log").read_text(), 30
        )
        produced: set[str] = set()
        t0 = datetime.now(UTC) - timedelta(hours=1)
        for loc in ("a", "b"):
            agent = Agent(config, loc, Spool(tmp_path / f"{loc}.db", 1_000_000), window=1000)
            for i in range(total // 2):
                r = Result(f"m{i % monitors}", loc, t0 + timedelta(milliseconds=i), State.UP, 0.01)
                produced.add(r.id)
                agent.sink(r)
            agent.spool_pending()
            agents.append(agent)
        tasks = [asyncio.create_task(a.run()) for a in agents]

        async def stored() -> int:
            try:
                return await store.count_results()
            except Exception:
                return -1

        for _ in range(600):
            n = await stored()
            if n >= 10_000:
                break
            await asyncio.sleep(0.1)
        engine.send_signal(signal.SIGKILL)
        engine.wait(10)
        at_kill = await stored()
        assert 0 < at_kill < total, at_kill  # killed in the middle of the stream

        engine = start_engine()
        for _ in range(1800):
            if await stored() == total and all(a.spool.count == 0 for a in agents):
                break
            await asyncio.sleep(0.1)
        # Anything still redelivered must not add rows. The broker hands the engine its
        # session's messages in order, redeliveries first: once a marker published now
        # is stored, every message before it has been through the engine.
        marker = Result("m0", "a", t0 - timedelta(minutes=1), State.UP, 0.01)
        async with mqtt_client(private_broker.port) as c:
            body = envelope(encode_result(marker), datetime.now(UTC))
            await c.publish(results_topic(prefix, "a", "m0"), body, qos=1)
        for _ in range(300):
            if await store.result_ids_exist([marker.id]):
                break
            await asyncio.sleep(0.1)
        assert await store.count_results() == total + 1
        assert await store.result_ids_exist(list(produced)) == produced
        # Rollups count only newly inserted results: exactly once, redelivery or not.
        rollups = await store.rollups(Interval(t0 - timedelta(hours=1), t0 + timedelta(hours=2)))
        assert sum(r.checks for r in rollups) == total + 1
        log = (tmp_path / "engine.log").read_text()
        assert log.count("connected to MQTT broker") >= 2
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if engine.poll() is None:
            engine.send_signal(signal.SIGTERM)
            try:
                engine.wait(15)
            except subprocess.TimeoutExpired:
                engine.kill()
                engine.wait()
        log_file.close()
        await store.close()


async def test_broker_stopped_for_30s_while_agents_probe_loses_nothing(
    private_broker: PrivateBroker, targets: Targets, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    config = distributed_config(
        prefix=unique_prefix(),
        store_url=f"sqlite+aiosqlite:///{tmp_path}/engine.db",
        port=private_broker.port,
        monitors=[
            {"id": "web", "type": "http", "target": targets.url("/ok"), "interval": "1s"},
            {"id": "port", "type": "tcp", "target": targets.host_port, "interval": "1s"},
        ],
        bus={"silent_after": 1000},  # this test is about delivery, not silence
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    agents = []
    try:
        await wait_for(lambda: ingest.connected)
        agents = [start_agent(config, loc, tmp_path / f"{loc}.db") for loc in ("oslo", "paris")]
        await wait_for(lambda: runtime.engine.state("web") is State.UP, 15)

        stopped_at = datetime.now(UTC).isoformat()
        private_broker.stop()
        await wait_for(lambda: not ingest.connected and not any(a.agent.connected for a in agents))
        await asyncio.sleep(30)
        waiting = [a.agent.spool.count for a in agents]
        assert all(n >= 40 for n in waiting), waiting  # still probing, into the spools
        private_broker.start()
        started_at = datetime.now(UTC).isoformat()
        await wait_for(lambda: ingest.connected, 15)
        await wait_for(lambda: all(a.agent.spool.count < 5 for a in agents), 30)
        # Stop probing, then let the agents drain what they spooled.
        for a in agents:
            a.stop_probing()
        await wait_for(lambda: all(a.agent.spool.count == 0 for a in agents), 15)
        await wait_for(lambda: ingest.unacked == 0, 15)
        await runtime.writer.flush()
        produced = {r.id for a in agents for r in a.produced}
        assert len(produced) > 120
        stored_ids = await runtime.store.result_ids_exist(list(produced))
        missing = sorted(
            (r.at.isoformat(), r.location, r.monitor_id)
            for a in agents
            for r in a.produced
            if r.id not in stored_ids
        )
        assert not missing, (stopped_at, started_at, len(missing), missing[:5])
        assert stored_ids == produced
        assert await runtime.store.count_results() == len(produced)
        assert "MQTT broker 127.0.0.1" in caplog.text and "reconnecting" in caplog.text
    finally:
        for a in agents:
            await a.stop()
        await slamon_app.stop(runtime, tasks)


async def test_database_unreachable_for_30s(
    fresh_pg: str, targets: Targets, tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    caplog.set_level(logging.INFO)
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    via_proxy = fresh_pg.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert via_proxy != fresh_pg
    config = distributed_config(
        prefix=unique_prefix(),
        store_url=via_proxy,
        monitors=[
            {"id": "api", "type": "http", "target": targets.url("/toggle"), "interval": "1s"},
            {"id": "port", "type": "tcp", "target": targets.host_port, "interval": "1s"},
        ],
        store={"max_pending": 100},
        bus={"silent_after": 1000},
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest = runtime.ingest
    assert ingest is not None
    writer, engine = runtime.writer, runtime.engine
    agents = []
    try:
        await wait_for(lambda: ingest.connected)
        agents = [start_agent(config, loc, tmp_path / f"{loc}.db") for loc in ("oslo", "paris")]
        await wait_for(lambda: engine.state("api") is State.UP, 15)
        await wait_for(lambda: writer.results_written > 0)

        await proxy.cut()
        cut_at = datetime.now(UTC)
        ingested = engine.ingested
        await asyncio.sleep(10)
        targets.healthy = False  # an outage while the database is away
        await wait_for(lambda: engine.state("api") is State.DOWN, 10)
        await asyncio.sleep(max(0.0, 30 - (datetime.now(UTC) - cut_at).total_seconds()))
        assert not writer.healthy
        assert engine.ingested > ingested + 100  # probing and ingesting went on
        assert writer.results_dropped > 0  # past the bound of 100 raw results
        assert writer.pending <= 100 + 10

        await proxy.restore()
        await wait_for(lambda: writer.healthy and writer.pending == 0, 30)
        for a in agents:
            a.stop_probing()
        await wait_for(lambda: all(a.agent.spool.count == 0 for a in agents), 15)
        await wait_for(lambda: ingest.unacked == 0 and writer.pending == 0, 15)
        produced = {r.id for a in agents for r in a.produced}
        # The agents' last results may still be on their way from the broker (an empty
        # spool means the broker has them): every result is stored or counted dropped.
        stored: set[str] = set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await writer.flush()
            stored = await runtime.store.result_ids_exist(list(produced))
            if len(produced) - len(stored) == writer.results_dropped:
                break
            await asyncio.sleep(0.2)
        assert len(produced) - len(stored) == writer.results_dropped
        now = datetime.now(UTC)
        history = (await runtime.store.intervals(Interval(now - timedelta(hours=1), now)))["api"]
        # The state change made during the outage was kept and written.
        assert [i.state for i in history] == [State.UP, State.DOWN]
        assert history[1].start > cut_at
        text = caplog.text
        assert "store write failed, will retry" in text
        assert "write buffer full" in text and "state changes are kept" in text
        assert "store is back after" in text
    finally:
        for a in agents:
            await a.stop()
        await proxy.restore()
        await slamon_app.stop(runtime, tasks)
        await proxy.close()


async def test_an_agent_clock_90s_behind_is_measured_corrected_and_never_goes_backwards(
    targets: Targets, tmp_path: Path
) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    skew = timedelta(seconds=90)
    config = distributed_config(
        prefix=unique_prefix(),
        store_url=f"sqlite+aiosqlite:///{tmp_path}/engine.db",
        monitors=[
            {"id": "api", "type": "http", "target": targets.url("/toggle"), "interval": "1s"}
        ],
        confirmation={"down_after": 2, "up_after": 2},
        bus={"clock_settle": "2s", "silent_after": 1000},
    )
    runtime = slamon_app.build_runtime(config)
    tasks = await slamon_app.start(runtime)
    ingest, engine = runtime.ingest, runtime.engine
    assert ingest is not None
    agents = []
    try:
        await wait_for(lambda: ingest.connected)
        agents = [
            start_agent(config, "oslo", tmp_path / "oslo.db"),
            start_agent(
                config,
                "paris",
                tmp_path / "paris.db",
                transform=lambda r: Result(
                    r.monitor_id, r.location, r.at - skew, r.state, r.latency, r.error, r.detail
                ),
                clock=lambda: datetime.now(UTC) - skew,
            ),
        ]
        await wait_for(lambda: engine.state("api") is State.UP, 15)
        await wait_for(lambda: ingest.skews["paris"].correction != 0, 15)
        assert ingest.skews["paris"].estimate == pytest.approx(90, abs=1.0)
        assert ingest.skews["oslo"].estimate == pytest.approx(0, abs=1.0)
        assert ingest.skews["oslo"].correction == 0
        # Two more checks from each agent, now corrected, before the target fails, and
        # two more failed ones before it recovers.
        seen = targets.hits["toggle"]
        await wait_for(lambda: targets.hits["toggle"] >= seen + 4, 15)
        flipped = datetime.now(UTC)
        targets.healthy = False
        await wait_for(lambda: engine.state("api") is State.DOWN, 15)
        seen = targets.hits["toggle"]
        await wait_for(lambda: targets.hits["toggle"] >= seen + 4, 15)
        targets.healthy = True
        await wait_for(lambda: engine.state("api") is State.UP, 15)
        await runtime.writer.flush()

        now = datetime.now(UTC)
        history = (await runtime.store.intervals(Interval(now - timedelta(hours=1), now)))["api"]
        # Built on the engine's clock: each interval starts where the previous ended, and
        # the outage starts when it really did, not 90 s earlier.
        assert State.DOWN in [i.state for i in history]
        for before, after in itertools.pairwise(history):
            assert before.end is not None and before.end <= after.start
            assert before.start <= before.end
        down = next(i for i in history if i.state is State.DOWN)
        # The first failed check came within an interval (1 s, plus lateness) of the
        # flip; a check already under way at the flip may carry a start just before it.
        assert -0.5 <= (down.start - flipped).total_seconds() <= 2.5, (down.start, flipped)
        recent = await runtime.store.recent_results("api", 20)
        paris = [r for r in recent if r.location == "paris"][:3]
        assert paris and all(abs((now - r.at).total_seconds()) < 5 for r in paris)
        text = (await _metrics(runtime)).splitlines()
        skew_line = next(
            line
            for line in text
            if line.startswith('slamon_location_clock_skew_seconds{location="paris"}')
        )
        assert float(skew_line.split()[-1]) == pytest.approx(90, abs=1.0)
    finally:
        for a in agents:
            await a.stop()
        await slamon_app.stop(runtime, tasks)


async def _metrics(runtime: slamon_app.Runtime) -> str:
    from prometheus_client import generate_latest

    return generate_latest(runtime.registry).decode()
