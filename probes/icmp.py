"""ICMP echo checks with icmplib: packet count, loss threshold, round-trip time."""

from __future__ import annotations

import ipaddress
import os
import re
import time

import icmplib
from pydantic import BaseModel, ConfigDict, Field

from probes.context import ProbeContext
from probes.durations import Duration
from probes.result import ErrorClass, Result

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


class Settings(BaseModel):
    """How many echoes to send and what loss and round-trip time to accept.

    All echoes lost is *down*; a loss ratio over ``max_loss`` or an average round
    trip over ``rtt_limit`` is *degraded*. Raw sockets are used when running as root,
    datagram ICMP sockets (``net.ipv4.ping_group_range``) otherwise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(default=3, ge=1, le=20)
    packet_interval: Duration = 0.2
    max_loss: float = Field(default=0.0, ge=0.0, lt=1.0)
    rtt_limit: Duration | None = None
    privileged: bool | None = None


def parse_target(target: str) -> str:
    """Validate the host name or address."""
    host = target.strip()
    if not (_is_ip(host) or _HOSTNAME.match(host)):
        raise ValueError(f"expected a host name or an IP address, got {target!r}")
    return host


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Ping ``target`` ``settings.count`` times within the check's timeout."""
    started = time.perf_counter()
    address = target if _is_ip(target) else (await icmplib.async_resolve(target))[0]
    resolve = time.perf_counter() - started
    # Leave each echo the time that is left after sending them all.
    budget = ctx.timeout - resolve - (settings.count - 1) * settings.packet_interval
    privileged = os.geteuid() == 0 if settings.privileged is None else settings.privileged
    host = await icmplib.async_ping(
        address,
        count=settings.count,
        interval=settings.packet_interval,
        timeout=max(budget - 0.05, 0.05),
        privileged=privileged,
    )
    metrics = {
        "icmp_duration_seconds:resolve": resolve,
        "icmp_packet_loss_ratio": float(host.packet_loss),
    }
    if not host.packets_received:
        return ctx.down(
            ErrorClass.TIMEOUT,
            f"no echo reply from {address} to {host.packets_sent} pings",
            metrics,
        )
    rtt = host.avg_rtt / 1000
    metrics["icmp_duration_seconds:rtt"] = rtt
    if host.packet_loss > settings.max_loss:
        return ctx.degraded(
            ErrorClass.PACKET_LOSS,
            f"{host.packet_loss:.0%} of {host.packets_sent} echoes lost",
            metrics,
            rtt,
        )
    if settings.rtt_limit is not None and rtt > settings.rtt_limit:
        return ctx.degraded(
            ErrorClass.LATENCY,
            f"round trip {rtt * 1000:.1f} ms, over the {settings.rtt_limit * 1000:g} ms limit",
            metrics,
            rtt,
        )
    return ctx.up(metrics, rtt)
