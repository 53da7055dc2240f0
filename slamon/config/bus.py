"""``[bus]`` and ``[agent]``: results over MQTT, and a probe agent's spool."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from probes.durations import Duration
from slamon.config.common import MonitorId, Section, at_least


class BusConfig(Section):
    """How results travel from probes to the engine: in-process, or over MQTT."""

    kind: Literal["inprocess", "mqtt"] = "inprocess"
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    topic_prefix: str = "slamon/v1"
    client_id: str = "slamon-engine"
    # Locations whose agents may publish results; monitors default to all of them.
    locations: list[MonitorId] = Field(default_factory=list)
    silent_after: float = Field(default=3.0, ge=1.0, le=1000.0)
    max_message_bytes: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    clock_skew_tolerance: Annotated[Duration, at_least(0, "s")] = 2
    # An agent's skew is corrected only once measured over this much receive time.
    clock_settle: Annotated[Duration, at_least(0, "s")] = 30
    max_clock_skew: Annotated[Duration, at_least(1, "s")] = 3600
    receive_maximum: int = Field(default=65535, ge=1, le=65535)
    session_expiry: Annotated[Duration, at_least(60, "s")] = 7 * 86400
    # Monitors fall into this many shards (CRC-32 of the id); agents publish a batch
    # per shard on <topic_prefix>/results/<location>/shard/<n>. Agents and engines
    # must agree; one engine consumes every shard.
    shards: int = Field(default=1, ge=1, le=4096)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        parts = value.split("/")
        if not value or any(not p or p.startswith("$") or set(p) & set("+#") for p in parts):
            raise ValueError(
                "must be topic levels separated by '/', none empty, without '+', '#' or "
                "a leading '$'"
            )
        return value

    @model_validator(mode="after")
    def _mqtt_needs_locations(self) -> Self:
        if self.kind == "mqtt" and not self.locations:
            raise ValueError("locations: list the agent locations allowed to publish results")
        if len(set(self.locations)) != len(self.locations):
            raise ValueError("locations: each location may be listed once")
        return self


class AgentConfig(Section):
    """A probe agent (``slamon agent``): its on-disk buffer and broker identity."""

    spool: str = "slamon-agent-{location}.db"
    spool_max: int = Field(default=1_000_000, ge=100, le=100_000_000)
    client_id: str = "slamon-agent-{location}"
    # Results per MQTT message at most (slamon.results/2); bus.max_message_bytes bounds
    # a message's size too.
    batch_size: int = Field(default=500, ge=1, le=5000)
    # Serve the agent's own /metrics (spool depth, published, refused) on this port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
