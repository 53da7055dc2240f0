"""``[[slos]]``: internal availability targets on components or monitors."""

from __future__ import annotations

from decimal import (
    Decimal,
)
from typing import Annotated, Self

from pydantic import (
    Field,
    model_validator,
)

from probes.durations import Duration
from slamon.config.common import MonitorId, Section, at_least


class SLOConfig(Section):
    """An internal availability target on a component or a set of monitors."""

    id: MonitorId
    name: str = ""
    component: MonitorId | None = None
    monitors: list[MonitorId] | None = None
    target: Decimal = Field(gt=0, lt=100)
    window: Annotated[Duration, at_least(3600, "s")] = 30 * 86400

    @model_validator(mode="after")
    def _subject(self) -> Self:
        if (self.component is None) == (self.monitors is None):
            raise ValueError("give either component or monitors")
        if self.monitors is not None and not self.monitors:
            raise ValueError("monitors: name at least one monitor")
        return self

    @property
    def display_name(self) -> str:
        """The name; the id when none is given."""
        return self.name or self.id
