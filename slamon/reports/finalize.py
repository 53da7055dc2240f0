"""Finance reports built from gathered evidence, compared with and written as finalized ones.

The figures come from :func:`sla_engine.reports.report.evaluate_contract`; this module only
reads the store (intervals, rollups, incidents, maintenance), renders the reports as a
table, CSV or JSON, and keeps finalized reports. A report for a closed period depends
only on the stored data, so it is the same bytes every time; the JSON carries the
SHA-256 of its content, and the CLI writes one beside CSV and table files.

JSON: ``sha256`` is the SHA-256 of the document serialized without its ``sha256`` key
(``json.dumps(doc, indent=2, ensure_ascii=False)`` and a newline, in UTF-8). Each contract's
entry also has the SHA-256 of its own figures (``entry_sha256``): finalizing stores
that entry, and a later run whose figures differ shows the differences. A field the
finalized entry does not have (added by a later slamon) and the explanation's wording
are not differences; the figures are.

A period with insufficient data is finalized only when told so, with a reason; the
reason is part of the finalized entry (``insufficient_data_accepted``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sla_engine.contracts import PeriodRule
from sla_engine.reports.report import Verdict
from slamon.reports.entries import (
    ACCEPTED,
    KINDS,
    Report,
    dumps_json,
    report_entries,
    sha256_of,
)
from slamon.reports.gather import (
    STORE_SOURCES,
    ReportError,
    Sources,
    expand_labels,
    gather,
    select_contracts,
)
from slamon.store.finalized import AlreadyFinalized, FinalizedReport, FinalizedStore

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.store.sql import Store


class InsufficientData(ReportError):
    """A period to finalize has too little data and no reason to finalize it anyway."""


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


def settle_startup() -> None:
    """Take what a one-shot command has loaded (modules, config) out of cyclic collections.

    The first report in a process otherwise paid for a full collection that walked
    every object imported and configured at start (0.15 s of a 2 s month report for a
    thousand contracts, bench/sla_report.py), once the report was built and the
    collector ran again. ``slamon run`` does the same at start (slamon.app.tune_gc);
    a ``slamon report`` process ends after one report, so nothing frozen is missed.
    """
    gc.freeze()


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
    return Report(kind, label, await report_entries(store, reports, kind))


async def finalize(
    config: Config,
    store: Store,
    label: str,
    now: datetime,
    *,
    contract_id: str | None = None,
    sources: Sources = STORE_SOURCES,
    accept_insufficient_data: str | None = None,
) -> Report:
    """Store the credits report of the closed period ``label`` for each calendar contract.

    Contracts already finalized with the same figures are left as they are; if any
    contract's stored report differs, nothing is written and AlreadyFinalized is raised.
    A contract whose period has insufficient data is finalized only with
    ``accept_insufficient_data`` (the reason, stored in its entry); without it nothing
    is written and InsufficientData is raised.
    """
    if accept_insufficient_data is not None and not accept_insufficient_data.strip():
        raise ReportError("accepting insufficient data needs a reason (--reason TEXT)")
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
    for e in entries:
        if e.finalized is not None and e.status != "finalized":
            raise AlreadyFinalized(e.finalized)
    new = [e for e in entries if e.finalized is None]
    short = [e for e in new if e.report.verdict is Verdict.INSUFFICIENT_DATA]
    if short and accept_insufficient_data is None:
        which = ", ".join(
            f"{e.report.contract.id} (coverage {e.data['coverage_percent']} %, minimum "
            f"{e.data['min_coverage_percent']} %"
            + ("; no SLI" if e.data["sli_percent"] == "" else "")
            + ")"
            for e in short
        )
        raise InsufficientData(
            f"period {label} has insufficient data for {which}: nothing was finalized; "
            "to finalize it anyway, say why: --accept-insufficient-data --reason TEXT"
        )
    fresh = []
    for e in new:
        data = e.data
        if e in short:
            data = {**data, ACCEPTED: {"reason": accept_insufficient_data}}
        content = dumps_json(data)
        fresh.append(
            FinalizedReport(
                e.report.contract.id, e.report.period.label, now, sha256_of(content), content
            )
        )
    await FinalizedStore(store).add(fresh)
    return await build_report(
        config, store, "credits", label, now, contract_id=contract_id, sources=sources
    )


def now_utc() -> datetime:
    """The wall clock, for the shell's callers."""
    return datetime.now(UTC)
