"""MQTT broker checks: connect, subscribe to a unique topic, publish, receive it back.

This module is also slamon's one wrapper of aiomqtt's client for probing: what
aiomqtt leaves behind when a connect is cancelled is cleaned up here.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

import aiomqtt
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from probes.context import ProbeContext
from probes.result import Result
from probes.targets import parse_host_port


class Settings(BaseModel):
    """Credentials, TLS and the topic prefix of the round trip."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    verify_tls: bool = True
    topic_prefix: str = "slamon/probe"
    qos: int = Field(default=1, ge=0, le=2)


def parse_target(target: str) -> str:
    """Validate ``host:port`` of the broker."""
    parse_host_port(target)
    return target


def _drop_socket(client: aiomqtt.Client) -> None:
    # aiomqtt leaves paho's socket (and its reader on the loop) open when the wait for
    # CONNACK is cancelled; close it through paho so the loop forgets it too.
    paho: Any = getattr(client, "_client", None)
    with contextlib.suppress(Exception):
        if paho is not None and paho.socket() is not None:
            paho._sock_close()


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """One publish/subscribe round trip through the broker at ``target``."""
    host, port = parse_host_port(target)
    token = uuid.uuid4().hex
    topic = f"{settings.topic_prefix}/{ctx.monitor_id}/{token}"
    payload = token.encode()
    client = aiomqtt.Client(
        host,
        port,
        identifier=f"slamon-probe-{token[:12]}",
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        tls_context=ctx.resources.tls.get(settings.verify_tls) if settings.tls else None,
        timeout=ctx.timeout,
        keepalive=max(int(ctx.timeout) * 2, 5),
    )
    try:
        async with client:
            connected = ctx.elapsed()
            await client.subscribe(topic, qos=settings.qos)
            sent = time.perf_counter()
            await client.publish(topic, payload, qos=settings.qos)
            async for message in client.messages:
                if message.payload == payload:
                    break
            roundtrip = time.perf_counter() - sent
    except BaseException:
        _drop_socket(client)
        raise
    metrics = {
        "mqtt_duration_seconds:connect": connected,
        "mqtt_duration_seconds:roundtrip": roundtrip,
    }
    return ctx.up(metrics)
