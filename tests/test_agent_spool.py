"""The agent's on-disk spool: ordered, bounded, and kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from slamon.bus.agent import Agent, Spool


def test_rows_survive_a_reopen_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_items=100)
    spool.append([(f"t/{i}", f"body{i}".encode()) for i in range(10)])
    rows = spool.read(3)
    spool.remove([seq for seq, _, _ in rows])
    spool.close()
    again = Spool(tmp_path / "s.db", max_items=100)
    assert again.count == 7
    assert [body for _, _, body in again.read(100)] == [f"body{i}".encode() for i in range(3, 10)]
    # New rows go after the old ones even though the first ones were deleted.
    again.append([("t/x", b"later")])
    assert again.read(100)[-1][2] == b"later"


def test_the_oldest_are_dropped_and_counted_past_the_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_items=100)
    for batch in range(5):
        spool.append([("t", f"{batch}-{i}".encode()) for i in range(30)])
    assert spool.count == 100
    assert spool.dropped == 50
    assert spool.read(1)[0][2] == b"1-20"


async def test_an_agent_without_its_broker_keeps_probing_into_the_spool(
    tmp_path: Path, refused_port: int, targets, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import logging
    import re

    import aiohttp

    from slamon.bus.agent import run_agent
    from slamon.config.load import parse_config

    caplog.set_level(logging.INFO, logger="slamon.agent")
    config = parse_config(
        {
            "bus": {"kind": "mqtt", "port": refused_port, "locations": ["oslo"]},
            # Port 0: the agent's metrics server takes a port from the kernel and logs it.
            "agent": {"spool": str(tmp_path / "{location}.db"), "metrics_port": 0},
            "monitors": [
                {"id": "web", "type": "tcp", "target": targets.host_port, "interval": "1s"}
            ],
        },
        {},
    )
    task = asyncio.create_task(run_agent(config, "oslo"))
    try:
        port = 0
        for _ in range(200):  # the log line comes once the server listens; at most 10 s
            found = re.search(r"agent metrics at http://127\.0\.0\.1:(\d+)/metrics", caplog.text)
            if found:
                port = int(found.group(1))
                break
            await asyncio.sleep(0.05)
        assert port, caplog.text
        text = ""
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # two checks at a 1 s interval; at most 10 s
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    text = await resp.text()
                if 'slamon_agent_spool_results{location="oslo"} 2.0' in text:
                    break
                await asyncio.sleep(0.1)
        assert 'slamon_agent_connected{location="oslo"} 0.0' in text
        assert 'slamon_agent_spool_results{location="oslo"} 2.0' in text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # The spool outlives the agent.
    assert Spool(tmp_path / "oslo.db", 100).count >= 2


def test_an_agent_groups_its_spool_into_batches_by_shard_in_order(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from probes.result import Result
    from sla_engine.time.states import State
    from slamon.bus.wire import BATCH_OVERHEAD, encode_result, results_topic, shard_of
    from slamon.config.load import parse_config

    config = parse_config(
        {
            "bus": {
                "kind": "mqtt",
                "locations": ["oslo"],
                "shards": 4,
                "max_message_bytes": 4096,
            },
            "agent": {"batch_size": 10},
            "monitors": [{"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9"} for i in range(6)],
        },
        {},
    )
    agent = Agent(config, "oslo", Spool(tmp_path / "s.db", 10_000))
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    results = [
        Result(f"m{i % 6}", "oslo", t0 + timedelta(seconds=i), State.UP, 0.01) for i in range(90)
    ]
    for r in results:
        agent.sink(r)
    agent.spool_pending()
    # An agent before the batched format left rows keyed by their topic.
    old = Result("m1", "oslo", t0 + timedelta(seconds=100), State.DOWN, 0.02, detail="x" * 300)
    agent.spool.append([(results_topic("slamon/v1", "oslo", "m1"), encode_result(old))])
    rows = agent.spool.read(1000)
    batches = agent.batches(rows)
    by_id = {r.id: r for r in [*results, old]}
    seen = []
    for topic, bodies, n in batches:
        decoded = [by_id[json.loads(b)["id"]] for b in bodies]
        shard = int(topic.rsplit("/", 1)[1])
        assert topic == f"slamon/v1/results/oslo/shard/{shard}"
        assert all(shard_of(r.monitor_id, 4) == shard for r in decoded)
        assert n == len(bodies) <= 10
        assert BATCH_OVERHEAD + sum(len(b) + 1 for b in bodies) <= 4096
        seen += decoded
    assert sorted(r.id for r in seen) == sorted(by_id)
    for shard in range(4):
        # Within a shard (so for every monitor), the spool's order is kept.
        ids = [r.id for r in seen if shard_of(r.monitor_id, 4) == shard]
        assert ids == [r.id for r in [*results, old] if shard_of(r.monitor_id, 4) == shard]
    # Nothing smaller than the bounds makes a message: a shard's results fill batches.
    assert len(batches) == sum(
        -(-sum(1 for r in [*results, old] if shard_of(r.monitor_id, 4) == s) // 10)
        for s in range(4)
    )


def test_a_chunk_leaves_the_spool_as_a_range(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_items=100)
    spool.append([("m", f"{i}".encode()) for i in range(10)])
    rows = spool.read(4, after=2)
    spool.remove_range(rows[0][0], rows[-1][0])
    assert spool.count == 6
    assert [b for _, _, b in spool.read(100)] == [b"0", b"1", b"6", b"7", b"8", b"9"]


def test_a_batch_stays_within_the_message_size(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from probes.result import Result
    from sla_engine.time.states import State
    from slamon.bus.wire import batch_envelope
    from slamon.config.load import parse_config

    config = parse_config(
        {
            "bus": {"kind": "mqtt", "locations": ["oslo"], "max_message_bytes": 1024},
            "agent": {"batch_size": 5000},
            "monitors": [{"id": "web", "type": "tcp", "target": "127.0.0.1:9"}],
        },
        {},
    )
    agent = Agent(config, "oslo", Spool(tmp_path / "s.db", 10_000))
    t0 = datetime.now(UTC)
    for i in range(40):
        agent.sink(Result("web", "oslo", t0 + timedelta(seconds=i), State.UP, 0.01))
    agent.spool_pending()
    batches = agent.batches(agent.spool.read(100))
    assert len(batches) > 1 and sum(n for _, _, n in batches) == 40
    for _, bodies, _ in batches:
        assert len(batch_envelope(bodies, t0, 1)) <= 1024
