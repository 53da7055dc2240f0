"""``[cluster]``: several engines share the shards by leases in PostgreSQL.

Off by default: one engine holds every shard. With ``enabled``, ``slamon engine``
runs as one member of a cluster (``slamon.cluster``); it needs PostgreSQL (the leases
live there) and the MQTT bus (each shard is a persistent MQTT session), which
``slamon.config.load`` checks across sections.
"""

from __future__ import annotations

import socket
from typing import Annotated, Self

from pydantic import Field, model_validator

from probes.durations import Duration
from slamon.config.common import Section, at_least


def _hostname() -> str:
    return socket.gethostname() or "engine"


class ClusterConfig(Section):
    """This engine's identity in the cluster, and how long its leases last."""

    enabled: bool = False
    # Unique per engine: leases are held in its name.
    engine_id: str = Field(default_factory=_hostname, min_length=1, max_length=64)
    # A lease not renewed for this long is taken by another engine.
    lease_ttl: Annotated[Duration, at_least(1, "s")] = 10
    renew_every: Annotated[Duration, at_least(0.1, "s")] = 2

    @model_validator(mode="after")
    def _renew_often(self) -> Self:
        if self.renew_every >= self.lease_ttl / 2:
            raise ValueError(
                f"renew_every: must be less than half of lease_ttl ({self.lease_ttl:g}s), "
                "so that one failed renewal does not lose the lease"
            )
        return self
