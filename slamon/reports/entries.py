"""A contract's report as plain values: its entry, the entry's hash, finalized or not."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from sla_engine.money.rounding import plain
from sla_engine.reports.report import (
    ContractReport,
    seconds_text,
    utc_text,
)
from sla_engine.time.text import local_iso, span_iso
from slamon.store.finalized import FinalizedStore

if TYPE_CHECKING:
    from slamon.store.finalized import FinalizedReport
    from slamon.store.sql import Store

MONEY_FIELDS = frozenset(
    {"tier_below_percent", "credit_percent", "monthly_fee", "credit_amount", "currency"}
)


KINDS = ("credits", "availability")

ACCEPTED = "insufficient_data_accepted"
# Derived from the figures beside it: its wording may change between versions.
_WORDING = frozenset({"explanation"})


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
        if self.finalized.sha256 == self.sha256 or not self.changes:
            return "finalized"
        return "changed since finalized"


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


def dumps_json(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)`` and a newline."""
    # Byte for byte json.dumps(value, indent=2, ensure_ascii=False) (tested), but the
    # stdlib's indenting encoder is pure Python: a month's report for a thousand
    # contracts spent half its time here.
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"


def sha256_of(text: str) -> str:
    """SHA-256 of ``text`` in UTF-8, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def local_text(instant: datetime, tz: str) -> str:
    """``instant`` as wall-clock text in the zone ``tz``."""
    return local_iso(instant, tz)


def entry_data(report: ContractReport, kind: str) -> dict[str, Any]:
    """One contract's figures, explanation and evidence as JSON-ready plain values."""
    summary = report.summary()
    if kind == "availability":
        summary = {k: v for k, v in summary.items() if k not in MONEY_FIELDS}
    tz = report.period.tz
    data: dict[str, Any] = dict(summary)
    data["counted"] = [
        {
            "start_utc": texts[2],
            "end_utc": texts[3],
            "start_local": texts[0],
            "end_local": texts[1],
            "duration_seconds": seconds_text(c.duration),
            "counted": plain(c.counted),
            "unit": c.unit,
            "without_data_seconds": seconds_text(c.without_data),
            "sources": list(c.sources),
            "incidents": list(c.incidents),
        }
        for c in report.counted
        for texts in [c.texts or span_iso(c.start, c.end, tz)]
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


def _accepted(finalized: FinalizedReport | None) -> Any:
    if finalized is None:
        return None
    return json.loads(finalized.content).get(ACCEPTED)


def _changes(finalized: FinalizedReport, data: Mapping[str, Any]) -> tuple[Change, ...]:
    old = json.loads(finalized.content)
    out = []
    for key, value in data.items():
        if key not in old or key in _WORDING:
            continue
        before = old[key]
        if before == value:
            continue
        if isinstance(value, list):
            out.append(Change(key, f"{len(before or [])} items", f"{len(value)} items"))
        elif isinstance(value, dict):
            out.append(
                Change(key, json.dumps(before, sort_keys=True), json.dumps(value, sort_keys=True))
            )
        else:
            out.append(Change(key, str(before), str(value)))
    return tuple(out)


async def report_entries(
    store: Store, reports: Sequence[ContractReport], kind: str = "credits"
) -> tuple[Entry, ...]:
    """Each report as an entry, compared with its finalized report if there is one."""
    finalized = await FinalizedStore(store).get(
        {r.period.label for r in reports}, {r.contract.id for r in reports}
    )
    entries = []
    for report in reports:
        done = finalized.get((report.contract.id, report.period.label))
        accepted = _accepted(done)
        data = entry_data(report, "credits")
        if accepted is not None:
            data[ACCEPTED] = accepted
        sha = sha256_of(dumps_json(data))
        changes = () if done is None or done.sha256 == sha else _changes(done, data)
        shown = data
        if kind != "credits":
            shown = entry_data(report, kind)
            if accepted is not None:
                shown[ACCEPTED] = accepted
        entries.append(Entry(report, shown, sha, done, changes))
    return tuple(entries)
