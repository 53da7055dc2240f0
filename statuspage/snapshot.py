"""What the status page shows, as plain values: no targets, no secrets, no contracts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sla_engine.states import State, worst


@dataclass(frozen=True, slots=True)
class Uptime:
    """Availability over one window; ``percent`` is None when nothing was measured."""

    label: str
    percent: Decimal | None
    downtime_seconds: int
    unknown_seconds: int


@dataclass(frozen=True, slots=True)
class MonitorView:
    """One monitor as the public sees it: its public name and state only."""

    id: str
    name: str
    description: str
    state: State
    since: datetime | None
    uptimes: tuple[Uptime, ...]


@dataclass(frozen=True, slots=True)
class PageSnapshot:
    """Everything one rendering of the page needs."""

    title: str
    description: str
    timezone: str
    generated_at: datetime
    monitors: tuple[MonitorView, ...]

    @property
    def overall(self) -> State:
        """The worst state among the monitors."""
        return worst(tuple(m.state for m in self.monitors))
