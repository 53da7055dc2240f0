"""A report as a person or a program reads it: a table, CSV (summary and detail), JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sla_engine.money.rounding import plain
from sla_engine.reports.report import (
    seconds_text,
    utc_text,
)
from sla_engine.time.text import span_iso
from slamon.reports.entries import MONEY_FIELDS, Entry, Report, dumps_json, local_text, sha256_of

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
    sha = sha256_of(dumps_json(doc))
    return dumps_json({**doc, "sha256": sha})


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
        "coverage_percent",
        "min_coverage_percent",
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
            local_start, local_end, utc_start, utc_end = c.texts or span_iso(c.start, c.end, tz)
            rows.append(
                [
                    *base,
                    "counted",
                    str(n),
                    utc_start,
                    utc_end,
                    local_start,
                    local_end,
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
                    local_text(x.start, tz),
                    local_text(x.end, tz),
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
    header = [
        "contract",
        "customer",
        "period",
        "sli",
        "target",
        "measured",
        "met",
        "coverage",
        "bad",
        "unit",
    ]
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
            d["sli_percent"] or "-",
            d["met"],
            d["coverage_percent"],
            d["bad"],
            d["unit"],
        ]
        if money:
            row += [d["credit_percent"], d["credit_amount"], d["currency"]]
        row.append(e.status)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {4, 5, 7, 8, 10, 11}
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
        accepted = e.data.get("insufficient_data_accepted")
        if accepted is not None:
            lines.append(
                f"{e.report.contract.id} {e.report.period.label}: insufficient data accepted "
                f"when finalized: {accepted['reason']}"
            )
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
