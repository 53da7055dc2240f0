"""Building blocks for distributed tests: configs, in-process agents, MQTT peeking."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt

from probes.result import Result
from probes.scheduler import Scheduler
from slamon.bus.agent import Agent, Spool
from slamon.config.load import parse_config
from slamon.config.model import Config


def distributed_config(
    *,
    prefix: str,
    store_url: str,
    monitors: list[dict[str, Any]],
    port: int = 1883,
    locations: tuple[str, ...] = ("oslo", "paris"),
    **sections: dict[str, Any] | list[dict[str, Any]],
) -> Config:
    """A config for an engine and its agents on the broker at ``port``.

    A table in ``sections`` is merged into the default one; a list (``slos``,
    ``contracts``) is taken as it is.
    """
    run = uuid.uuid4().hex[:8]
    data: dict[str, Any] = {
        "store": {"url": store_url, "flush_interval": "50ms"},
        "confirmation": {"down_after": 2, "up_after": 1},
        "bus": {
            "kind": "mqtt",
            "port": port,
            "topic_prefix": prefix,
            "client_id": f"engine-{run}",
            "locations": list(locations),
            "session_expiry": "2m",
            "clock_settle": "1s",
        },
        "agent": {"client_id": f"agent-{run}-{{location}}", "spool_max": 1_000_000},
        "monitors": monitors,
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values} if isinstance(values, dict) else values
    return parse_config(data, {})


@dataclass
class RunningAgent:
    """An agent (scheduler, spool, publisher) running in this process."""

    agent: Agent
    tasks: list[asyncio.Task[None]]
    produced: list[Result] = field(default_factory=list)

    def stop_probing(self) -> None:
        """Stop the scheduler; the agent goes on publishing what it spooled."""
        if len(self.tasks) > 1:
            self.tasks[1].cancel()

    async def stop(self) -> None:
        for task in reversed(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.agent.spool_pending()


def start_agent(
    config: Config,
    location: str,
    spool: Path,
    *,
    transform: Callable[[Result], Result] | None = None,
    probe: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> RunningAgent:
    """Start an agent for ``location`` whose results are also kept in ``produced``."""
    agent = Agent(
        config,
        location,
        Spool(spool, config.agent.spool_max),
        **({"clock": clock} if clock else {}),  # type: ignore[arg-type]
    )
    running = RunningAgent(agent, [])

    def sink(result: Result) -> None:
        if transform is not None:
            result = transform(result)
        running.produced.append(result)
        agent.sink(result)

    running.tasks.append(asyncio.create_task(agent.run()))
    if probe:
        scheduler = Scheduler(config.checks(location), location=location, sink=sink)
        running.tasks.append(asyncio.create_task(scheduler.run()))
    return running


@asynccontextmanager
async def mqtt_client(port: int = 1883) -> AsyncIterator[aiomqtt.Client]:
    """A plain client for a test to publish or subscribe with."""
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"peek-{uuid.uuid4().hex[:8]}") as c:
        yield c


async def clear_retained(prefix: str, monitors: list[str], port: int = 1883) -> None:
    """Remove the retained state a test left on a shared broker."""
    async with mqtt_client(port) as c:
        for m in monitors:
            await c.publish(f"{prefix}/state/{m}", b"", qos=1, retain=True)


async def wait_for(
    predicate: Callable[[], bool], timeout: float = 15.0, step: float = 0.05
) -> None:
    """Poll ``predicate`` until true, at most ``timeout`` seconds."""
    for _ in range(int(timeout / step)):
        if predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")
