"""``slamon report suggest``: a component's monthly history against candidate targets."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
    compute_availability,
    timeline_from_states,
)
from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.contracts import DEFAULT_MIN_COVERAGE
from sla_engine.money.credits import CreditTerms
from sla_engine.money.rounding import plain, quantize
from sla_engine.reports.report import coverage_text, seconds_text
from sla_engine.reports.suggest import Candidate, Suggestion, default_tiers, suggest_targets
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import PeriodKind, period_containing, previous_period
from slamon.reports.gather import ReportError

if TYPE_CHECKING:
    from slamon.config.contracts import ContractConfig
    from slamon.config.model import Config
    from slamon.store.sql import Store

DEFAULT_TARGETS = tuple(Decimal(t) for t in ("99", "99.5", "99.9", "99.95", "99.99"))
# Without a contract: exact seconds, maintenance and time without data left out.
DEFAULT_TERMS = AccountingTerms(
    accounting=Accounting.SECONDS,
    unknown=UnknownPolicy.EXCLUDE,
    maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
)


def _contract_for(config: Config, component_id: str) -> ContractConfig | None:
    return next((c for c in config.contracts if component_id in c.components), None)


async def suggest(
    config: Config,
    store: Store,
    component_id: str,
    months: int,
    now: datetime,
    *,
    targets: list[Decimal] | None = None,
    tz: str | None = None,
) -> tuple[str, str, Suggestion]:
    """(component, zone, suggestion) over the last ``months`` closed months before ``now``."""
    components = {c.id: c for c in config.effective_components()}
    if component_id not in components:
        known = ", ".join(sorted(components)) or "none"
        raise ReportError(f"no component has the id {component_id!r} (known: {known})")
    if not 1 <= months <= 120:
        raise ReportError(f"--months must be within 1..120, got {months}")
    component = components[component_id]
    contract = _contract_for(config, component_id)
    zone_name = tz or (contract.timezone if contract else "UTC")
    try:
        period = previous_period(period_containing(now, zone_name, PeriodKind.MONTH))
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    periods = [period]
    for _ in range(months - 1):
        periods.append(previous_period(periods[-1]))
    periods.reverse()
    span = Interval(periods[0].start, periods[-1].end)
    history = await store.intervals(span, component.monitors)
    terms = contract.to_contract().terms if contract else DEFAULT_TERMS
    combine = partial(component_state, quorum=component.quorum)
    measured = []
    for p in periods:
        states = combine_intervals(
            component_id, {m: history.get(m, []) for m in component.monitors}, p.interval, combine
        )
        timeline = timeline_from_states(states, p.interval, None)
        measured.append((p.label, compute_availability(timeline, p.interval, terms)))
    fee = contract.credit_terms() if contract else None
    candidates = []
    for target in targets or list(DEFAULT_TARGETS):
        credit = CreditTerms(
            default_tiers(target),
            None,
            fee.monthly_fee if fee else Decimal(0),
            fee.currency if fee else "EUR",
        )
        candidates.append(Candidate(f"{plain(target)} with standard tiers", target, credit))
    if contract is not None and fee is not None:
        own = contract.to_contract()
        candidates.append(
            Candidate(f"{plain(own.target)} with {contract.id}'s tiers", own.target, fee)
        )
    minimum = contract.min_coverage if contract is not None else DEFAULT_MIN_COVERAGE
    return component_id, zone_name, suggest_targets(measured, candidates, min_coverage=minimum)


def _percent(value: Any) -> str:
    return plain(quantize(value, 6))


def render_suggestion(result: tuple[str, str, Suggestion], fmt: str) -> str:
    """The suggestion as a table or JSON."""
    component, zone_name, s = result
    has_fee = any(o.candidate.credit.monthly_fee for o in s.outcomes)
    every = sorted([*s.months, *s.skipped], key=lambda month: month[0])
    skipped = {label for label, _ in s.skipped}
    if fmt == "json":
        doc = {
            "component": component,
            "timezone": zone_name,
            "min_coverage_percent": plain(s.min_coverage),
            "months": [
                {
                    "period": label,
                    "availability_percent": None if label in skipped else _percent(a.percent_exact),
                    "coverage_percent": coverage_text(a.coverage),
                    "unknown_seconds": seconds_text(a.unknown),
                    "insufficient_data": label in skipped,
                }
                for label, a in every
            ],
            "skipped_months": sorted(skipped),
            "candidates": [
                {
                    "name": o.candidate.name,
                    "target_percent": plain(o.candidate.target),
                    "months_met": o.met_count,
                    "met": {m.label: m.met for m in o.months},
                    "credit_percent": {m.label: plain(m.credit.credit_percent) for m in o.months},
                    "credit_percent_total": plain(o.credit_percent_total),
                    "credit_amount_total": plain(o.credit_amount_total) if has_fee else None,
                    "currency": o.candidate.credit.currency if has_fee else None,
                }
                for o in s.outcomes
            ],
            "suggested_target_percent": None
            if s.suggested_target is None
            else plain(s.suggested_target),
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    lines = [f"Component {component}, last {len(every)} months ({zone_name})", ""]
    lines.append("month     availability %  without data (s)  coverage %")
    lines += [
        f"{label:<9} {'-' if label in skipped else _percent(a.percent_exact):>14}  "
        f"{seconds_text(a.unknown):>16}  {coverage_text(a.coverage):>10}"
        + ("  insufficient data: skipped" if label in skipped else "")
        for label, a in every
    ]
    lines.append("")
    if skipped:
        lines.append(
            f"Skipped, insufficient data (under {plain(s.min_coverage)} % of the month "
            f"measured, or nothing to count): {', '.join(sorted(skipped))}"
        )
        lines.append("")
    for o in s.outcomes:
        cost = f"{plain(o.credit_percent_total)} % of a monthly fee"
        if has_fee:
            cost += f" = {plain(o.credit_amount_total)} {o.candidate.credit.currency}"
        missed = [m.label for m in o.months if not m.met]
        lines.append(
            f"target {o.candidate.name}: met {o.met_count}/{len(o.months)} months"
            + (f" (missed {', '.join(missed)})" if missed else "")
            + f"; credits {cost}"
        )
    lines.append("")
    if not s.months:
        lines.append("Suggested: none; no month had enough data to suggest a target")
    elif s.suggested_target is None:
        lines.append("Suggested: none of the candidate targets was met in every month")
    else:
        lines.append(
            f"Suggested: {plain(s.suggested_target)} %, the highest target met in every month"
        )
    return "\n".join(lines) + "\n"
