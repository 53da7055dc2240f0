"""Every calendar contract's current period, kept in memory for /metrics and alerts.

Refreshed by the alerting loop every ``alerts.evaluation_interval``; a scrape reads
the last refresh and never waits on the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sla_engine.contracts import Contract, PeriodRule
from sla_engine.time.periods import PeriodKind, period_containing
from slamon.reports.gather import gather, select_contracts

if TYPE_CHECKING:
    from datetime import datetime

    from sla_engine.reports.report import ContractReport
    from slamon.config.model import Config
    from slamon.store.sql import Store


def current_label(contract: Contract, now: datetime) -> str:
    """The label of the calendar period of ``contract`` that contains ``now``."""
    kind = PeriodKind.QUARTER if contract.period is PeriodRule.QUARTER else PeriodKind.MONTH
    return period_containing(now, contract.tz, kind).label


@dataclass
class CurrentContracts:
    """The last evaluation of each calendar contract's current period, by contract id."""

    config: Config
    store: Store
    reports: dict[str, ContractReport] = field(default_factory=dict)
    evaluated_at: datetime | None = None

    async def refresh(self, now: datetime) -> dict[str, ContractReport]:
        """Evaluate every calendar contract's period containing ``now``; keep and return it."""
        contracts = [c for c in select_contracts(self.config) if c.period is not PeriodRule.ROLLING]
        by_label: dict[str, list[Contract]] = defaultdict(list)
        for c in contracts:
            by_label[current_label(c, now)].append(c)
        found: dict[str, ContractReport] = {}
        for label, group in by_label.items():
            for report in await gather(self.config, self.store, group, label, now):
                found[report.contract.id] = report
        # One assignment: a scrape in another thread sees the old dict or the new one.
        self.reports = {c.id: found[c.id] for c in contracts}
        self.evaluated_at = now
        return self.reports
