"""TCP connect checks."""

from __future__ import annotations

import asyncio
import contextlib

from pydantic import BaseModel, ConfigDict

from probes.context import ProbeContext
from probes.result import Result
from probes.targets import parse_host_port


class Settings(BaseModel):
    """A TCP check needs nothing beyond its ``host:port`` target."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def parse_target(target: str) -> str:
    """Validate ``host:port``."""
    parse_host_port(target)
    return target


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Open a TCP connection to ``target`` and close it again."""
    host, port = parse_host_port(target)
    _reader, writer = await asyncio.open_connection(host, port)
    latency = ctx.elapsed()
    writer.close()
    with contextlib.suppress(OSError):  # a reset on close: the connect was measured
        await writer.wait_closed()
    return ctx.up(latency=latency)
