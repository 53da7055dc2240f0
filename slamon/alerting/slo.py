"""Evaluating the configured SLOs from the stored state intervals.

Maintenance needs no separate input: the engine writes the covered monitors' time
in state ``maintenance``, which the SLO terms leave out of the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.slis.slo import SLOStatus, evaluate_slo
from sla_engine.time.intervals import Interval

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.config.slos import SLOConfig
    from slamon.store.sql import Store


class SLOEvaluator:
    """Keeps the latest status of every SLO for alerts and /metrics."""

    def __init__(self, config: Config, store: Store) -> None:
        self.slos = list(config.slos)
        self.store = store
        self.components = {c.id: c for c in config.effective_components()}
        self.statuses: dict[str, SLOStatus] = {}
        self.evaluated_at: datetime | None = None

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded config; an SLO that is gone is no longer reported."""
        self.slos = list(config.slos)
        self.components = {c.id: c for c in config.effective_components()}
        kept = {s.id for s in self.slos}
        self.statuses = {k: v for k, v in self.statuses.items() if k in kept}

    def members(self, slo: SLOConfig) -> tuple[list[str], int | None]:
        """The SLO's monitors and the quorum that combines them."""
        if slo.component is not None:
            component = self.components[slo.component]
            return list(component.monitors), component.quorum
        return list(slo.monitors or ()), None

    async def evaluate(self, now: datetime) -> Mapping[str, SLOStatus]:
        """Evaluate every SLO at ``now`` from one read of the store."""
        if not self.slos:
            return {}
        longest = max(timedelta(seconds=s.window) for s in self.slos)
        monitors = sorted({m for s in self.slos for m in self.members(s)[0]})
        intervals = await self.store.intervals(Interval(now - longest, now), monitors)
        statuses = {}
        for slo in self.slos:
            members, quorum = self.members(slo)
            statuses[slo.id] = evaluate_slo(
                intervals,
                members,
                slo.target,
                timedelta(seconds=slo.window),
                now,
                quorum=quorum,
            )
        self.statuses = statuses
        self.evaluated_at = now
        return statuses
