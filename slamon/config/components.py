"""``[[components]]``: what the public sees, a named group of monitors."""

from __future__ import annotations

from pydantic import (
    Field,
)

from slamon.config.common import MonitorId, Section


class ComponentConfig(Section):
    """What the public sees: a named group of monitors, optionally in a group."""

    id: MonitorId
    name: str
    description: str = ""
    group: str = ""
    monitors: list[MonitorId] = Field(min_length=1)
    quorum: int | None = Field(default=None, ge=1)
