"""The agent's on-disk spool: ordered, bounded, and kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from slamon.bus.agent import Spool


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
