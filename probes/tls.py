"""TLS handshake checks: chain and host name, minimum protocol version, earliest expiry."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict

from probes.certs import DEFAULT_WARNING, check_expiry, earliest_expiry
from probes.context import ProbeContext
from probes.durations import Duration
from probes.httpclient import peer_certs, start_tls
from probes.result import ErrorClass, Result
from probes.targets import parse_host_port

_VERSIONS = {"TLS1.0": "TLSv1", "TLS1.1": "TLSv1_1", "TLS1.2": "TLSv1_2", "TLS1.3": "TLSv1_3"}


class Settings(BaseModel):
    """How to judge the handshake with ``host:port``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    server_name: str | None = None
    verify: bool = True
    check_hostname: bool = True
    min_version: Literal["TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"] = "TLS1.2"
    cert_expiry_warning: Duration = DEFAULT_WARNING


def parse_target(target: str) -> str:
    """Validate ``host:port``."""
    parse_host_port(target)
    return target


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Shake hands with ``target`` and look at what it presented."""
    host, port = parse_host_port(target)
    sslctx = ctx.resources.tls.get(
        settings.verify,
        check_hostname=settings.check_hostname,
        minimum=_VERSIONS[settings.min_version],
    )
    loop = asyncio.get_running_loop()
    plain, protocol = await loop.create_connection(asyncio.Protocol, host, port)
    transport = await start_tls(loop, plain, protocol, sslctx, settings.server_name or host)
    latency = ctx.elapsed()
    try:
        chain, version = peer_certs(transport)
    finally:
        transport.abort()
    metrics: dict[str, float] = {}
    expiry = earliest_expiry(chain)
    if expiry is None:
        return ctx.down(ErrorClass.TLS, "the server presented no certificate", metrics, latency)
    metrics["ssl_earliest_cert_expiry"] = expiry
    near = check_expiry(expiry, time.time(), settings.cert_expiry_warning)
    if near is not None:
        state = ctx.down if near[0] is ErrorClass.CERT_EXPIRED else ctx.degraded
        return state(near[0], f"{near[1]} ({version})", metrics, latency)
    return ctx.up(metrics, latency)
