"""Gathering a contract's evidence from the store and evaluating its periods.

The figures come from :func:`sla_engine.reports.report.evaluate_contract`; this module
reads the store (intervals, rollups, incidents, maintenance) once for every period asked.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.contracts import Contract, PeriodRule, ReportPeriod, SLIKind
from sla_engine.reports.report import (
    ContractReport,
    Evidence,
    evaluate_contract,
)
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import next_period, parse_period
from slamon.store.incidents import load_incidents, load_maintenance

if TYPE_CHECKING:
    from sla_engine.incidents import Incident, MaintenanceWindow
    from sla_engine.time.states import State, StateInterval
    from slamon.config.components import ComponentConfig
    from slamon.config.model import Config
    from slamon.store.sql import Store

    IncidentLoader = Callable[[Store, Interval, Sequence[str] | None], Awaitable[list[Incident]]]
    MaintenanceLoader = Callable[[Config, Store, Interval], Awaitable[list[MaintenanceWindow]]]


_FAR = datetime.max.replace(tzinfo=UTC)


class ReportError(Exception):
    """The request cannot be answered (unknown contract, bad period); the message says why."""


@dataclass(frozen=True, slots=True)
class Sources:
    """Where incidents and maintenance come from (None: none are loaded)."""

    incidents: IncidentLoader | None = None
    maintenance: MaintenanceLoader | None = None


# Incidents and maintenance as the store and the config hold them.
STORE_SOURCES = Sources(incidents=load_incidents, maintenance=load_maintenance)


def select_contracts(
    config: Config, contract_id: str | None = None, *, customer_id: str | None = None
) -> list[Contract]:
    """The configured contracts (or the one named, or one customer's), as engine values."""
    chosen = [c for c in config.contracts if contract_id is None or c.id == contract_id]
    if contract_id is not None and not chosen:
        known = ", ".join(c.id for c in config.contracts) or "none configured"
        raise ReportError(f"no contract has the id {contract_id!r} (known: {known})")
    if customer_id is not None:
        chosen = [c for c in chosen if c.customer_id == customer_id]
        if not chosen:
            known = ", ".join(sorted({c.customer_id for c in config.contracts})) or "none"
            raise ReportError(f"no contract has the customer id {customer_id!r} (known: {known})")
    return [c.to_contract() for c in chosen]


def period_for(contract: Contract, label: str, now: datetime) -> ReportPeriod:
    """The period ``label`` of ``contract``; a rolling contract's window ends at ``now``."""
    if contract.period is PeriodRule.ROLLING:
        return contract.rolling_period(now)
    try:
        return contract.period_named(label)
    except ValueError as exc:
        raise ReportError(str(exc)) from None


def _components(config: Config) -> dict[str, ComponentConfig]:
    return {c.id: c for c in config.effective_components()}


def _scope(contract: Contract, component_of: Mapping[str, set[str]]) -> set[str]:
    """The components whose incidents and maintenance concern ``contract``.

    ``component_of`` maps each monitor id to the components that contain it.
    """
    out = set(contract.components)
    for monitor_id in contract.monitors:
        out |= component_of.get(monitor_id, set())
    return out


def _component_of(components: Mapping[str, ComponentConfig]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in components.values():
        for monitor_id in c.monitors:
            out.setdefault(monitor_id, set()).add(c.id)
    return out


def _monitors_of(contract: Contract, components: Mapping[str, ComponentConfig]) -> set[str]:
    out = set(contract.monitors)
    for cid in contract.components:
        out.update(components[cid].monitors)
    return out


def expand_labels(spec: str) -> list[str]:
    """'2026-10' as itself; a range '2025-11..2026-10' (months or quarters) as every label."""
    first, sep, last = spec.partition("..")
    if not sep:
        return [spec]
    try:
        a, b = parse_period(first, "UTC"), parse_period(last, "UTC")
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if a.kind is not b.kind or b.start < a.start:
        raise ReportError(f"period range {spec!r}: both ends months or both quarters, in order")
    labels = [a.label]
    while labels[-1] != b.label:
        a = next_period(a)
        labels.append(a.label)
        if len(labels) > 240:
            raise ReportError(f"period range {spec!r} is longer than 20 years")
    return labels


def _memo(combine: Callable[[Sequence[State]], State]) -> Callable[[Sequence[State]], State]:
    """``combine`` remembering its answers: a component sees few distinct state mixes."""
    seen: dict[tuple[State, ...], State] = {}

    def cached(states: Sequence[State]) -> State:
        key = states if type(states) is tuple else tuple(states)
        state = seen.get(key)
        if state is None:
            state = seen[key] = combine(key)
        return state

    return cached


def _overlapping(spans: Sequence[StateInterval], window: Interval) -> Sequence[StateInterval]:
    """The intervals (one monitor's: sorted, disjoint) that overlap ``window``."""
    if not spans:
        return spans
    lo = bisect_right(spans, window.start, key=lambda si: si.end or _FAR)
    hi = bisect_left(spans, window.end, lo=lo, key=lambda si: si.start)
    return spans[lo:hi]


async def gather(
    config: Config,
    store: Store,
    contracts: Sequence[Contract],
    labels: str | Sequence[str],
    now: datetime,
    *,
    sources: Sources = STORE_SOURCES,
) -> list[ContractReport]:
    """Evaluate ``contracts`` over each period label with what the store holds at ``now``.

    One query each for intervals, incidents and maintenance covers every period; the
    reports come contract by contract, each contract's periods in order.
    """
    found = await gather_evidence(config, store, contracts, labels, now, sources=sources)
    return [evaluate_contract(c, period, evidence, now) for c, period, evidence in found]


async def gather_evidence(
    config: Config,
    store: Store,
    contracts: Sequence[Contract],
    labels: str | Sequence[str],
    now: datetime,
    *,
    sources: Sources = STORE_SOURCES,
) -> list[tuple[Contract, ReportPeriod, Evidence]]:
    """The evidence :func:`gather` evaluates, for callers that show more of it."""
    if not contracts:
        return []
    wanted = [labels] if isinstance(labels, str) else list(labels)
    components = _components(config)
    periods: dict[str, list[ReportPeriod]] = {}
    for c in contracts:
        own: list[ReportPeriod] = []
        for label in wanted:
            p = period_for(c, label, now)
            if p not in own:
                own.append(p)
        periods[c.id] = own
    every = [p for own in periods.values() for p in own]
    start = min(p.start for p in every)
    end = min(max(p.end for p in every), max(now, start))
    span = Interval(start, max(end, start))
    monitors = sorted(set().union(*(_monitors_of(c, components) for c in contracts)))
    intervals = await store.intervals(span, monitors)
    component_of = _component_of(components)
    scopes = {c.id: _scope(c, component_of) for c in contracts}
    scope_all = sorted(set().union(*scopes.values()))
    incidents = (
        await sources.incidents(store, span, scope_all) if sources.incidents is not None else []
    )
    maintenance = (
        await sources.maintenance(config, store, span) if sources.maintenance is not None else []
    )
    combined: dict[tuple[str, datetime, datetime], list[StateInterval]] = {}
    # One memo per quorum: components with the same quorum combine the same state mixes.
    combiners: dict[int | None, Callable[[Sequence[State]], State]] = {}
    out: list[tuple[Contract, ReportPeriod, Evidence]] = []
    for contract in contracts:
        scope = scopes[contract.id]
        for period in periods[contract.id]:
            cut = Interval(period.start, min(period.end, max(now, period.start)))
            states: dict[str, Sequence[StateInterval]] = {
                m: _overlapping(intervals.get(m, []), cut) for m in contract.monitors
            }
            for cid in contract.components:
                key = (cid, cut.start, cut.end)
                if key not in combined:
                    comp = components[cid]
                    combine = combiners.get(comp.quorum)
                    if combine is None:
                        combine = combiners[comp.quorum] = _memo(
                            partial(component_state, quorum=comp.quorum)
                        )
                    combined[key] = combine_intervals(
                        cid,
                        {m: _overlapping(intervals.get(m, []), cut) for m in comp.monitors},
                        cut,
                        combine,
                    )
                states[cid] = combined[key]
            evidence = Evidence(
                states=states,
                maintenance=[
                    m
                    for m in maintenance
                    if set(m.component_ids) & scope and m.interval.overlaps(period.interval)
                ],
                incidents=[
                    i
                    for i in incidents
                    if set(i.component_ids) & scope and i.span(now).overlaps(period.interval)
                ],
                **await _rollup_evidence(store, contract, period, components),
            )
            out.append((contract, period, evidence))
    return out


async def _rollup_evidence(
    store: Store,
    contract: Contract,
    period: ReportPeriod,
    components: Mapping[str, ComponentConfig],
) -> dict[str, Any]:
    if contract.sli not in (SLIKind.LATENCY, SLIKind.QUALITY):
        return {}
    rollups = await store.rollups(period.interval, sorted(_monitors_of(contract, components)))
    return {
        "checks": sum(r.checks for r in rollups),
        "down_checks": sum(r.down for r in rollups),
        "degraded_checks": sum(r.degraded for r in rollups),
        "unanswered_checks": sum(r.unanswered for r in rollups),
        "assertion_failed_checks": sum(r.assertion_failed for r in rollups),
        "sketches": [r.sketch for r in rollups],
    }
