"""Finance reports: gather evidence from the store, evaluate contracts, render, finalize.

The figures come from :func:`sla_engine.reports.report.evaluate_contract`; this module only
reads the store (intervals, rollups, incidents, maintenance), renders the reports as a
table, CSV or JSON, and keeps finalized reports. A report for a closed period depends
only on the stored data, so it is the same bytes every time; the JSON carries the
SHA-256 of its content, and the CLI writes one beside CSV and table files.

JSON: ``sha256`` is the SHA-256 of the document serialized without its ``sha256`` key
(``json.dumps(doc, indent=2, ensure_ascii=False)`` and a newline, in UTF-8). Each contract's
entry also has the SHA-256 of its own figures (``entry_sha256``): finalizing stores
that entry, and a later run that computes a different one shows the differences.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
from bisect import bisect_left, bisect_right
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import orjson

from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.contracts import Contract, PeriodRule, ReportPeriod, SLIKind
from sla_engine.incidents import Incident, MaintenanceWindow
from sla_engine.money.rounding import plain
from sla_engine.reports.report import (
    ContractReport,
    Evidence,
    evaluate_contract,
    seconds_text,
    utc_text,
)
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import next_period, parse_period, zone
from sla_engine.time.states import State, StateInterval
from slamon.config import ComponentConfig, Config
from slamon.incidents import load_incidents
from slamon.maintenance import load_maintenance
from slamon.store.finalized import AlreadyFinalized, FinalizedReport, FinalizedStore
from slamon.store.sql import Store

IncidentLoader = Callable[[Store, Interval, Sequence[str] | None], Awaitable[list[Incident]]]
MaintenanceLoader = Callable[[Config, Store, Interval], Awaitable[list[MaintenanceWindow]]]

KINDS = ("credits", "availability")
_FAR = datetime.max.replace(tzinfo=UTC)
MONEY_FIELDS = frozenset(
    {"tier_below_percent", "credit_percent", "monthly_fee", "credit_amount", "currency"}
)
DETAIL_FIELDS = (
    "contract_id",
    "customer_id",
    "period",
    "item",
    "number",
    "start_utc",
    "end_utc",
    "start_local",
    "end_local",
    "duration_seconds",
    "counted",
    "unit",
    "without_data_seconds",
    "sources",
    "incidents",
    "exclusion_kind",
    "exclusion_reason",
    "excluded_by",
)


class ReportError(Exception):
    """The request cannot be answered (unknown contract, bad period); the message says why."""


@dataclass(frozen=True, slots=True)
class Sources:
    """Where incidents and maintenance come from (None: none are loaded)."""

    incidents: IncidentLoader | None = None
    maintenance: MaintenanceLoader | None = None


# Incidents and maintenance as the store and the config hold them.
STORE_SOURCES = Sources(incidents=load_incidents, maintenance=load_maintenance)


@dataclass(frozen=True, slots=True)
class Change:
    """A figure that differs from the finalized report."""

    field: str
    finalized: str
    current: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One contract's report, rendered to plain values, with its finalized state."""

    report: ContractReport
    data: dict[str, Any]
    sha256: str
    finalized: FinalizedReport | None = None
    changes: tuple[Change, ...] = ()

    @property
    def status(self) -> str:
        """``open``, ``closed``, ``finalized`` or ``changed since finalized``."""
        if self.finalized is None:
            return "closed" if self.report.complete else "open"
        return "finalized" if self.finalized.sha256 == self.sha256 else "changed since finalized"


@dataclass(frozen=True, slots=True)
class Report:
    """A credits or availability report over a period (or a range of them) for some contracts."""

    kind: str
    period: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        """Every contract's period is over."""
        return all(e.report.complete for e in self.entries)


# -- gathering -----------------------------------------------------------------------


def select_contracts(config: Config, contract_id: str | None = None) -> list[Contract]:
    """The configured contracts (or the one named), as engine values."""
    chosen = [c for c in config.contracts if contract_id is None or c.id == contract_id]
    if contract_id is not None and not chosen:
        known = ", ".join(c.id for c in config.contracts) or "none configured"
        raise ReportError(f"no contract has the id {contract_id!r} (known: {known})")
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
        key = tuple(states)
        if key not in seen:
            seen[key] = combine(key)
        return seen[key]

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
    out = []
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
                    combined[key] = combine_intervals(
                        cid,
                        {m: _overlapping(intervals.get(m, []), cut) for m in comp.monitors},
                        cut,
                        _memo(partial(component_state, quorum=comp.quorum)),
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
            out.append(evaluate_contract(contract, period, evidence, now))
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


# -- plain values and hashes ----------------------------------------------------------


def _dumps(value: Any) -> str:
    # Byte for byte json.dumps(value, indent=2, ensure_ascii=False) (tested), but the
    # stdlib's indenting encoder is pure Python: a month's report for a thousand
    # contracts spent half its time here.
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"


def sha256_of(text: str) -> str:
    """SHA-256 of ``text`` in UTF-8, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _local(instant: datetime, tz: str) -> str:
    return instant.astimezone(zone(tz)).isoformat()


def entry_data(report: ContractReport, kind: str) -> dict[str, Any]:
    """One contract's figures, explanation and evidence as JSON-ready plain values."""
    summary = report.summary()
    if kind == "availability":
        summary = {k: v for k, v in summary.items() if k not in MONEY_FIELDS}
    tz = report.period.tz
    data: dict[str, Any] = dict(summary)
    data["counted"] = [
        {
            "start_utc": utc_text(c.start),
            "end_utc": utc_text(c.end),
            "start_local": _local(c.start, tz),
            "end_local": _local(c.end, tz),
            "duration_seconds": seconds_text(c.duration),
            "counted": plain(c.counted),
            "unit": c.unit,
            "without_data_seconds": seconds_text(c.without_data),
            "sources": list(c.sources),
            "incidents": list(c.incidents),
        }
        for c in report.counted
    ]
    data["excluded_incidents"] = [
        {
            "id": e.id,
            "title": e.title,
            "kind": e.kind,
            "reason": e.reason,
            "excluded_by": e.excluded_by,
            "start_utc": utc_text(e.start),
            "end_utc": utc_text(e.end),
            "downtime_not_counted_seconds": seconds_text(e.downtime_not_counted),
        }
        for e in report.excluded
    ]
    if report.latency is not None:
        lat = report.latency
        data["latency"] = {
            "percentile": plain(lat.percentile),
            "limit_seconds": plain(lat.limit_seconds),
            "measured_seconds": None
            if lat.measured_seconds is None
            else f"{lat.measured_seconds:.6f}",
            "checks": lat.checks,
            "within_limit": lat.within_limit,
            "compliant": lat.compliant,
        }
    if report.response is not None:
        res = report.response
        data["incident_response"] = {
            "incidents": res.incidents,
            "decided": res.decided,
            "met": res.met,
            "late": list(res.breached),
        }
    if kind == "credits":
        data["explanation"] = list(report.lines)
    return data


def _changes(finalized: FinalizedReport, data: Mapping[str, Any]) -> tuple[Change, ...]:
    old = json.loads(finalized.content)
    out = []
    for key, value in data.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(value, list):
            out.append(Change(key, f"{len(before or [])} items", f"{len(value)} items"))
        elif not isinstance(value, dict):
            out.append(Change(key, str(before), str(value)))
    return tuple(out)


async def build_report(
    config: Config,
    store: Store,
    kind: str,
    label: str,
    now: datetime,
    *,
    contract_id: str | None = None,
    sources: Sources = STORE_SOURCES,
) -> Report:
    """The ``kind`` report for ``label`` and its differences from finalized reports."""
    if kind not in KINDS:
        raise ReportError(f"unknown report {kind!r}; expected one of {', '.join(KINDS)}")
    with cyclic_gc_paused():
        return await _build_report(
            config, store, kind, label, now, contract_id=contract_id, sources=sources
        )


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a report is built.

    A month's report for a thousand contracts allocates millions of small objects that
    live until the report is done; the collector kept walking them (2.3-2.7 s with it,
    1.8 s without, bench/sla_report.py). Reference counting still frees everything
    acyclic at once; the collector runs again as soon as the report is built.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _build_report(
    config: Config,
    store: Store,
    kind: str,
    label: str,
    now: datetime,
    *,
    contract_id: str | None,
    sources: Sources,
) -> Report:
    contracts = select_contracts(config, contract_id)
    reports = await gather(config, store, contracts, expand_labels(label), now, sources=sources)
    finalized = await FinalizedStore(store).get(
        {r.period.label for r in reports}, [c.id for c in contracts]
    )
    entries = []
    for report in reports:
        data = entry_data(report, "credits")
        sha = sha256_of(_dumps(data))
        done = finalized.get((report.contract.id, report.period.label))
        changes = () if done is None or done.sha256 == sha else _changes(done, data)
        shown = data if kind == "credits" else entry_data(report, kind)
        entries.append(Entry(report, shown, sha, done, changes))
    return Report(kind, label, tuple(entries))


async def finalize(
    config: Config,
    store: Store,
    label: str,
    now: datetime,
    *,
    contract_id: str | None = None,
    sources: Sources = STORE_SOURCES,
) -> Report:
    """Store the credits report of the closed period ``label`` for each calendar contract.

    Contracts already finalized with the same figures are left as they are; if any
    contract's stored report differs, nothing is written and AlreadyFinalized is raised.
    """
    contracts = [
        c for c in select_contracts(config, contract_id) if c.period is not PeriodRule.ROLLING
    ]
    if not contracts:
        raise ReportError("no calendar-period contract to finalize (rolling SLOs are not)")
    report = await build_report(
        config, store, "credits", label, now, contract_id=contract_id, sources=sources
    )
    entries = [e for e in report.entries if e.report.contract.period is not PeriodRule.ROLLING]
    open_ = [e.report.contract.id for e in entries if not e.report.complete]
    if open_:
        raise ReportError(
            f"period {label} is not over for {', '.join(open_)}: only closed periods are finalized"
        )
    fresh = []
    for e in entries:
        if e.finalized is not None and e.status != "finalized":
            raise AlreadyFinalized(e.finalized)
        if e.finalized is None:
            fresh.append(
                FinalizedReport(
                    e.report.contract.id, e.report.period.label, now, e.sha256, _dumps(e.data)
                )
            )
    await FinalizedStore(store).add(fresh)
    return await build_report(
        config, store, "credits", label, now, contract_id=contract_id, sources=sources
    )


# -- rendering ------------------------------------------------------------------------


def _entry_json(entry: Entry) -> dict[str, Any]:
    out = dict(entry.data)
    out["entry_sha256"] = entry.sha256
    out["status"] = entry.status
    if entry.finalized is not None:
        out["finalized"] = {
            "finalized_at": utc_text(entry.finalized.finalized_at),
            "sha256": entry.finalized.sha256,
            "differences": [
                {"field": c.field, "finalized": c.finalized, "current": c.current}
                for c in entry.changes
            ],
        }
    return out


def render_json(report: Report) -> str:
    """The report as JSON with the SHA-256 of its content (see the module docstring)."""
    doc: dict[str, Any] = {
        "report": report.kind,
        "period": report.period,
        "complete": report.complete,
        "contracts": [_entry_json(e) for e in report.entries],
    }
    sha = sha256_of(_dumps(doc))
    return _dumps({**doc, "sha256": sha})


def _csv(rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerows(rows)
    return buf.getvalue()


def summary_fields(kind: str) -> list[str]:
    """The columns of the summary CSV."""
    fields = [
        "contract_id",
        "customer_id",
        "customer_name",
        "sli",
        "period",
        "timezone",
        "period_start",
        "period_end",
        "measured_until",
        "complete",
        "target_percent",
        "sli_percent",
        "met",
        "unit",
        "total",
        "bad",
        "downtime_seconds",
        "excluded_seconds",
        "unknown_seconds",
        "maintenance_seconds",
        "degraded_seconds",
        "error_budget_remaining_percent",
        "tier_below_percent",
        "credit_percent",
        "monthly_fee",
        "credit_amount",
        "currency",
    ]
    if kind == "availability":
        fields = [f for f in fields if f not in MONEY_FIELDS]
    return [*fields, "status"]


def render_csv_summary(report: Report) -> str:
    """One line per contract and period, a header row, plain decimals, ISO dates."""
    fields = summary_fields(report.kind)
    rows = [fields]
    for e in report.entries:
        values = {**e.data, "status": e.status}
        rows.append([str(values[f]) for f in fields])
    return _csv(rows)


def render_csv_detail(report: Report) -> str:
    """Each span that counted and each excluded incident, one line each."""
    rows: list[Sequence[str]] = [DETAIL_FIELDS]
    for e in report.entries:
        r = e.report
        tz = r.period.tz
        base = [r.contract.id, r.contract.customer_id, r.period.label]
        for n, c in enumerate(r.counted, 1):
            rows.append(
                [
                    *base,
                    "counted",
                    str(n),
                    utc_text(c.start),
                    utc_text(c.end),
                    _local(c.start, tz),
                    _local(c.end, tz),
                    seconds_text(c.duration),
                    plain(c.counted),
                    c.unit,
                    seconds_text(c.without_data),
                    " ".join(c.sources),
                    " ".join(c.incidents),
                    "",
                    "",
                    "",
                ]
            )
        for n, x in enumerate(r.excluded, 1):
            rows.append(
                [
                    *base,
                    "excluded",
                    str(n),
                    utc_text(x.start),
                    utc_text(x.end),
                    _local(x.start, tz),
                    _local(x.end, tz),
                    seconds_text(x.end - x.start),
                    "0",
                    "seconds",
                    "",
                    "",
                    x.id,
                    x.kind,
                    x.reason,
                    x.excluded_by,
                ]
            )
    return _csv(rows)


def render_csv(report: Report) -> str:
    """Summary and detail in one stream, separated by an empty line."""
    return render_csv_summary(report) + "\r\n" + render_csv_detail(report)


def render_table(report: Report, *, explain: bool = False) -> str:
    """A fixed-width table for a terminal, then the differences and explanations."""
    money = report.kind == "credits"
    header = ["contract", "customer", "period", "sli", "target", "measured", "met", "bad", "unit"]
    if money:
        header += ["credit %", "amount", "cur"]
    header.append("status")
    rows = [header]
    for e in report.entries:
        d = e.data
        row = [
            d["contract_id"],
            d["customer_name"],
            d["period"],
            d["sli"],
            d["target_percent"],
            d["sli_percent"],
            d["met"],
            d["bad"],
            d["unit"],
        ]
        if money:
            row += [d["credit_percent"], d["credit_amount"], d["currency"]]
        row.append(e.status)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {4, 5, 7, 9, 10}
    lines = [f"{report.kind.capitalize()} report, period {report.period}"]
    for k, row in enumerate(rows):
        cells = [
            cell.rjust(w) if i in numeric and k else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    if money:
        totals: dict[str, Decimal] = {}
        for e in report.entries:
            cur = e.data["currency"]
            totals[cur] = totals.get(cur, Decimal(0)) + Decimal(e.data["credit_amount"])
        for cur in sorted(totals):
            lines.append(f"Total credits {cur}: {plain(totals[cur])}")
    for e in report.entries:
        if e.changes:
            lines.append(
                f"{e.report.contract.id} {e.report.period.label} changed since it was finalized "
                f"at {utc_text(e.finalized.finalized_at) if e.finalized else ''}:"
            )
            lines += [f"  {c.field}: {c.finalized} -> {c.current}" for c in e.changes]
    if explain:
        for e in report.entries:
            lines.append("")
            lines.append(f"== {e.report.contract.id} ({e.report.contract.customer_name})")
            lines += list(e.report.lines)
    return "\n".join(lines) + "\n"


def now_utc() -> datetime:
    """The wall clock, for the shell's callers."""
    return datetime.now(UTC)
