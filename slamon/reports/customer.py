"""A customer's own page: their contracts' current period and finalized past, as values.

The figures are the finance reports' (:func:`slamon.reports.gather.gather` and the
finalized reports), never computed again here. Only the contracts whose
``customer_id`` is the customer's are read; exclusion reasons and who marked them
stay out (a reason may name someone else), and the credit only shows where the
contract says ``show_credit``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from sla_engine.contracts import PeriodRule, SLIKind
from sla_engine.money.rounding import plain
from sla_engine.reports.report import Verdict
from sla_engine.time.periods import period_containing
from slamon.reports.gather import gather
from slamon.store.finalized import FinalizedStore
from slamon.store.incidents import load_incidents
from statuspage.customer import (
    ContractView,
    CountedSpan,
    CustomerView,
    ExcludedSpan,
    PastPeriod,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sla_engine.contracts import Contract
    from sla_engine.incidents import Incident
    from sla_engine.reports.report import ContractReport
    from slamon.config.model import Config
    from slamon.store.sql import Store

PAST_PERIODS = 12  # finalized periods shown per contract


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 30
        return Decimal(value.numerator) / Decimal(value.denominator)


def _credit(percent: str, amount: str, currency: str) -> str:
    return f"{percent} % = {amount} {currency}"


def _past(content: str, shown: bool) -> PastPeriod:
    data: Mapping[str, Any] = json.loads(content)
    left = data.get("error_budget_remaining_percent") or None
    return PastPeriod(
        label=data["period"],
        sli_percent=Decimal(data["sli_percent"]) if data.get("sli_percent") else None,
        met=data["met"] == "yes",
        insufficient=data["met"] == str(Verdict.INSUFFICIENT_DATA),
        budget_left_percent=Decimal(left) if left else None,
        credit=_credit(data["credit_percent"], data["credit_amount"], data["currency"])
        if shown
        else None,
    )


def _label(contract: Contract, now: datetime) -> str:
    if contract.period is PeriodRule.ROLLING:
        return "rolling"
    # A month label; a quarterly contract reports the quarter containing it.
    return period_containing(now, contract.tz).label


async def customer_view(
    config: Config, store: Store, customer_id: str, now: datetime
) -> CustomerView | None:
    """The page of ``customer_id`` at ``now``; None when no contract is theirs."""
    entries = [c for c in config.contracts if c.customer_id == customer_id]
    if not entries:
        return None
    names = {c.id: c.name for c in config.effective_components()}
    names.update({m.id: m.display_name for m in config.monitors})
    finalized = await FinalizedStore(store).of_contracts([c.id for c in entries])
    views = []
    for entry in entries:
        contract = entry.to_contract()
        (report,) = await gather(config, store, [contract], _label(contract, now), now)
        incidents = {i.id: i for i in await load_incidents(store, report.period.interval)}
        past = [
            _past(f.content, entry.show_credit) for f in finalized if f.contract_id == contract.id
        ]
        views.append(_contract_view(report, names, incidents, entry.show_credit, past))
    return CustomerView(customer_id, entries[0].customer, tuple(views))


def _contract_view(
    report: ContractReport,
    names: Mapping[str, str],
    incidents: Mapping[str, Incident],
    show_credit: bool,
    past: list[PastPeriod],
) -> ContractView:
    c = report.contract
    a = report.availability
    budget = report.budget
    credit = report.credit
    return ContractView(
        id=c.id,
        sli=str(c.sli),
        scope=tuple(names.get(x, x) for x in (*c.components, *c.monitors)),
        target=c.target,
        period=report.period.label,
        period_start=report.period.start,
        period_end=report.period.end,
        measured_until=report.measured_until,
        complete=report.complete,
        sli_percent=None if report.sli_percent is None else _decimal(report.sli_percent),
        met=report.met,
        insufficient=report.verdict is Verdict.INSUFFICIENT_DATA,
        coverage=_decimal(report.coverage * 100),
        unit=report.unit,
        budget_left_percent=budget.remaining_percent(3),
        budget_left=budget.remaining,
        unknown_seconds=int(a.unknown.total_seconds()),
        maintenance_seconds=int(a.maintenance.total_seconds()),
        excluded_seconds=int(a.excluded.total_seconds()),
        counted=_counted(report, incidents),
        excluded=tuple(
            ExcludedSpan(
                e.title,
                e.kind,
                e.start,
                e.end,
                int(e.downtime_not_counted.total_seconds()),
            )
            for e in report.excluded
        ),
        past=tuple(past[:PAST_PERIODS]),
        credit=_credit(plain(credit.credit_percent), plain(credit.amount), credit.currency)
        if show_credit
        else None,
    )


def _counted(report: ContractReport, incidents: Mapping[str, Incident]) -> tuple[CountedSpan, ...]:
    """What counted against the target: downtime spans, or the incidents handled late."""

    def title(incident_id: str) -> str:
        found = incidents.get(incident_id)
        return found.title if found is not None else incident_id

    if report.response is not None:
        return tuple(
            CountedSpan(i.opened, i.resolved or report.measured_until, "1", (i.title,))
            for i in sorted(
                (incidents[x] for x in report.response.breached if x in incidents),
                key=lambda i: i.opened,
            )
        )
    if report.contract.sli is not SLIKind.AVAILABILITY:
        return ()  # latency and quality count checks, not spans
    return tuple(
        CountedSpan(s.start, s.end, plain(s.counted), tuple(title(i) for i in s.incidents))
        for s in report.counted
    )
