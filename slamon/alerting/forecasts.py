"""Contract breach forecasts: each availability contract's current period from the store."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.contracts import Contract, PeriodRule, SLIKind
from sla_engine.reports.contract_forecast import ContractForecast, forecast_contract
from sla_engine.time.periods import PeriodKind, period_containing
from slamon.reports.gather import gather, select_contracts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sla_engine.reports.report import ContractReport
    from slamon.config.model import Config
    from slamon.store.sql import Store

RECENT = timedelta(hours=6)
"""The window the current burn rate is measured over (the SRE workbook's 6 h)."""


def _current_label(contract: Contract, now: datetime) -> str:
    kind = PeriodKind.QUARTER if contract.period is PeriodRule.QUARTER else PeriodKind.MONTH
    return period_containing(now, contract.tz, kind).label


async def forecast_contracts(
    config: Config,
    store: Store,
    now: datetime,
    recent: timedelta = RECENT,
    *,
    current: Mapping[str, ContractReport] | None = None,
) -> list[ContractForecast]:
    """A forecast for every calendar-period availability contract, in config order.

    ``current``: each contract's current period already evaluated at ``now`` (by
    contract id), so that it is not gathered twice.
    """
    contracts = [
        c
        for c in select_contracts(config)
        if c.sli is SLIKind.AVAILABILITY and c.period is not PeriodRule.ROLLING
    ]
    if not contracts:
        return []
    if current is None or any(c.id not in current for c in contracts):
        by_label: dict[str, list[Contract]] = defaultdict(list)
        for c in contracts:
            by_label[_current_label(c, now)].append(c)
        found = {}
        for label, group in by_label.items():
            for report in await gather(config, store, group, label, now):
                found[report.contract.id] = report
        current = found
    rolling = [replace(c, period=PeriodRule.ROLLING, window=recent) for c in contracts]
    recent_reports = {r.contract.id: r for r in await gather(config, store, rolling, "", now)}
    return [forecast_contract(current[c.id], recent_reports[c.id], now) for c in contracts]
