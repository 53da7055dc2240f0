"""TCP checks: connect, optionally over TLS, optionally send a line and expect an answer."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from pydantic import BaseModel, ConfigDict, Field

from probes.certs import DEFAULT_WARNING, check_expiry, earliest_expiry
from probes.context import ProbeContext
from probes.durations import Duration
from probes.errors import ProbeError
from probes.httpclient import peer_certs
from probes.result import ErrorClass, Result
from probes.targets import parse_host_port


class Settings(BaseModel):
    """What to do on the connection; with nothing set, the check is a connect."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    send: str | None = None
    expect: re.Pattern[str] | None = None
    tls: bool = False
    verify_tls: bool = True
    server_name: str | None = None
    cert_expiry_warning: Duration = DEFAULT_WARNING
    max_read_bytes: int = Field(default=64 * 1024, ge=1, le=1 << 20)


def parse_target(target: str) -> str:
    """Validate ``host:port``."""
    parse_host_port(target)
    return target


async def _read_until(
    reader: asyncio.StreamReader, pattern: re.Pattern[str], cap: int, budget: float
) -> tuple[bool, str]:
    """Read until ``pattern`` matches, EOF, ``cap`` bytes or ``budget`` seconds.

    Runs out of time silently only when something was read; with nothing read, the
    timeout propagates and the check is a timeout.
    """
    data = b""
    try:
        async with asyncio.timeout(budget):
            while len(data) < cap:
                chunk = await reader.read(cap - len(data))
                if not chunk:
                    break
                data += chunk
                if pattern.search(data.decode("utf-8", "replace")):
                    return True, ""
    except TimeoutError:
        if not data:
            raise
    return False, data.decode("utf-8", "replace")[:120]


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Connect to ``target``; send and expect what ``settings`` say."""
    host, port = parse_host_port(target)
    sslctx = ctx.resources.tls.get(settings.verify_tls) if settings.tls else None
    reader, writer = await asyncio.open_connection(host, port, limit=settings.max_read_bytes)
    metrics: dict[str, float] = {}
    near: tuple[ErrorClass, str] | None = None
    try:
        if sslctx is not None:
            try:
                await writer.start_tls(sslctx, server_hostname=settings.server_name or host)
            except (ConnectionError, EOFError) as exc:
                # As for the tls probe: a reset mid-handshake is a TLS refusal.
                raise ProbeError(ErrorClass.TLS, f"the TLS handshake failed: {exc!r}") from exc
            expiry = earliest_expiry(peer_certs(writer.transport)[0])
            if expiry is not None:
                metrics["ssl_earliest_cert_expiry"] = expiry
                near = check_expiry(expiry, time.time(), settings.cert_expiry_warning)
                if near is not None and near[0] is ErrorClass.CERT_EXPIRED:
                    raise ProbeError(*near)
        if settings.send is not None:
            writer.write(settings.send.encode())
            await writer.drain()
        if settings.expect is not None:
            # Stop reading a little before the hard timeout: an answer that came but
            # did not match is an assertion failure, not a timeout.
            budget = max(ctx.timeout - ctx.elapsed() - 0.05, 0.01)
            found, got = await _read_until(reader, settings.expect, settings.max_read_bytes, budget)
            if not found:
                return ctx.down(
                    ErrorClass.ASSERTION,
                    f"answer does not match {settings.expect.pattern!r}: {got!r}",
                    metrics,
                )
    finally:
        writer.transport.abort()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    if near is not None:
        return ctx.degraded(near[0], near[1], metrics)
    return ctx.up(metrics)
