"""Finance reports from a real store: figures, goldens, determinism, finalize and diffs."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from sla_engine.time.intervals import Interval
from slamon.reports.entries import sha256_of
from slamon.reports.finalize import build_report, finalize
from slamon.reports.gather import ReportError
from slamon.reports.render import render_csv_detail, render_csv_summary, render_json, render_table
from slamon.store.finalized import AlreadyFinalized
from slamon.store.sql import Store
from tests.golden_files import assert_golden
from tests.report_fixtures import NOW, late_outage, make_config, populate


@pytest.fixture
async def world(store: Store):  # type: ignore[no-untyped-def]
    await populate(store)
    return make_config(str(store.engine.url)), store


async def test_credits_report_figures_and_goldens(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    report = await build_report(config, store, "credits", "2026-06", NOW)
    by_id = {e.report.contract.id: e.data for e in report.entries}
    acme = by_id["acme-api"]
    # api-eu: 30 min after maintenance + 20 min on the 12th (10 min customer-caused);
    # api-us silent 15 min (unknown counts as down): 30*60 + 10*60 + 15*60 seconds.
    assert (acme["bad"], acme["excluded_seconds"], acme["unknown_seconds"]) == (
        "3300",
        "600",
        "900",
    )
    assert acme["maintenance_seconds"] == "1800"
    assert (acme["credit_percent"], acme["credit_amount"], acme["currency"]) == (
        "25",
        "625.00",
        "EUR",
    )
    globex = by_id["globex-web"]
    assert (globex["unit"], globex["bad"], globex["degraded_seconds"]) == ("minutes", "2", "3600")
    latency = by_id["acme-latency"]
    assert (latency["total"], latency["bad"], latency["sli_percent"]) == ("480", "48", "90.000000")
    assert (latency["credit_percent"], latency["credit_amount"]) == ("5", "5000")
    assert report.complete
    assert_golden("report_credits.json", render_json(report))
    assert_golden("report_credits.csv", render_csv_summary(report))
    assert_golden("report_credits_detail.csv", render_csv_detail(report))
    assert_golden("report_credits.txt", render_table(report, explain=True))


async def test_availability_report_has_no_money(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    report = await build_report(config, store, "availability", "2026-06", NOW)
    text = render_json(report)
    assert "credit_amount" not in text and "monthly_fee" not in text
    assert_golden("report_availability.csv", render_csv_summary(report))


async def test_same_bytes_twice_and_the_hash_checks_out(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    first = render_json(await build_report(config, store, "credits", "2026-06", NOW))
    later = NOW + timedelta(days=40)
    second = render_json(await build_report(config, store, "credits", "2026-06", later))
    assert first == second
    doc = json.loads(first)
    sha = doc.pop("sha256")
    assert sha == sha256_of(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


async def test_csv_reads_cleanly(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    report = await build_report(config, store, "credits", "2026-06", NOW)
    rows = list(csv.DictReader(io.StringIO(render_csv_summary(report), newline="")))
    assert [r["contract_id"] for r in rows] == ["acme-api", "globex-web", "acme-latency"]
    assert rows[1]["customer_name"] == 'Globex, "West" division'
    assert rows[0]["period_start"] == "2026-05-31T22:00:00Z"
    detail = list(csv.DictReader(io.StringIO(render_csv_detail(report), newline="")))
    excluded = [r for r in detail if r["item"] == "excluded"]
    assert [(r["contract_id"], r["incidents"], r["excluded_by"]) for r in excluded] == [
        ("acme-api", "inc-2", "alice@example.com"),
        ("acme-latency", "inc-2", "alice@example.com"),
    ]
    counted = [r for r in detail if r["contract_id"] == "acme-api" and r["item"] == "counted"]
    assert sum(int(r["counted"]) for r in counted) == int(rows[0]["bad"])


async def test_finalize_then_late_data_shows_a_difference(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    done = await finalize(config, store, "2026-06", NOW)
    assert {e.status for e in done.entries} == {"finalized"}
    # Finalizing again with the same figures is a no-op, not an error.
    await finalize(config, store, "2026-06", NOW)
    await late_outage(store)
    report = await build_report(config, store, "credits", "2026-06", NOW)
    by_id = {e.report.contract.id: e for e in report.entries}
    web = by_id["globex-web"]
    assert web.status == "changed since finalized"
    changes = {c.field: (c.finalized, c.current) for c in web.changes}
    assert changes["bad"] == ("2", "7")
    assert changes["counted"] == ("1 items", "2 items")
    assert by_id["acme-api"].status == "finalized"
    text = render_table(report)
    assert "globex-web 2026-06 changed since it was finalized" in text
    assert "  bad: 2 -> 7" in text
    assert json.loads(render_json(report))["contracts"][1]["finalized"]["differences"]
    with pytest.raises(AlreadyFinalized, match="globex-web 2026-06 was finalized"):
        await finalize(config, store, "2026-06", NOW)


async def test_open_periods_are_not_finalized(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    with pytest.raises(ReportError, match="is not over"):
        await finalize(config, store, "2026-11", NOW)
    report = await build_report(config, store, "credits", "2026-11", NOW)
    assert {e.status for e in report.entries} == {"open"}


async def test_unknown_contract_and_bad_period(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    with pytest.raises(ReportError, match="no contract has the id 'nope'"):
        await build_report(config, store, "credits", "2026-06", NOW, contract_id="nope")
    with pytest.raises(ReportError, match="neither a month"):
        await build_report(config, store, "credits", "June", NOW)


def test_expand_labels() -> None:
    from slamon.reports.gather import expand_labels

    assert expand_labels("2026-06") == ["2026-06"]
    assert expand_labels("2025-11..2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert expand_labels("2026-Q1..2026-Q2") == ["2026-Q1", "2026-Q2"]
    for bad in ("2026-06..2026-Q3", "2026-06..2026-01"):
        with pytest.raises(ReportError, match="both ends"):
            expand_labels(bad)


async def test_a_range_of_periods_in_one_report(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    whole = await build_report(
        config, store, "credits", "2026-05..2026-07", NOW, contract_id="acme-api"
    )
    assert [e.report.period.label for e in whole.entries] == ["2026-05", "2026-06", "2026-07"]
    june = await build_report(config, store, "credits", "2026-06", NOW, contract_id="acme-api")
    assert whole.entries[1].data == june.entries[0].data


def test_report_json_is_byte_for_byte_the_stdlib_indent_2() -> None:
    import json

    from slamon.reports.entries import dumps_json as _dumps

    weird = "".join(chr(i) for i in range(300)) + "\u2028\u2029\ud7ff\ue000\U0001f600"
    doc = {"a": [1, {"b": weird, "c": [], "d": {}}], "e": None, "f": True, "g": "9.99"}
    assert _dumps(doc) == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


async def test_a_month_without_enough_data_is_not_finalized_without_a_reason(world) -> None:  # type: ignore[no-untyped-def]
    from slamon.reports.finalize import InsufficientData

    config, store = world
    # History starts on May 30th: May is 2 days of 31 measured, for every contract.
    report = await build_report(config, store, "credits", "2026-05", NOW)
    assert {e.data["met"] for e in report.entries} == {"insufficient data"}
    with pytest.raises(InsufficientData) as info:
        await finalize(config, store, "2026-05", NOW)
    message = str(info.value)
    assert message.startswith("period 2026-05 has insufficient data for acme-api (coverage ")
    assert "globex-web" in message and "acme-latency" in message
    assert "--accept-insufficient-data --reason" in message
    report = await build_report(config, store, "credits", "2026-05", NOW)
    assert {e.status for e in report.entries} == {"closed"}

    reason = "monitoring moved to a new host; customer agreed on the call of June 3"
    done = await finalize(config, store, "2026-05", NOW, accept_insufficient_data=reason)
    assert {e.status for e in done.entries} == {"finalized"}
    for e in done.entries:
        assert e.data["insufficient_data_accepted"] == {"reason": reason}
        assert json.loads(e.finalized.content)["insufficient_data_accepted"] == {"reason": reason}  # type: ignore[union-attr]
    again = await build_report(config, store, "credits", "2026-05", NOW + timedelta(days=9))
    assert [e.status for e in again.entries] == ["finalized"] * 3
    assert f"insufficient data accepted when finalized: {reason}" in render_table(again)
    # June had enough data: acceptance is recorded only where it was needed.
    june = await finalize(config, store, "2026-06", NOW, accept_insufficient_data=reason)
    assert all("insufficient_data_accepted" not in e.data for e in june.entries)


async def test_a_report_finalized_by_an_older_slamon_stays_finalized(world) -> None:  # type: ignore[no-untyped-def]
    from slamon.reports.entries import dumps_json
    from slamon.store.finalized import FinalizedReport, FinalizedStore

    config, store = world
    current = await build_report(config, store, "credits", "2026-06", NOW, contract_id="acme-api")
    old = dict(current.entries[0].data)
    # Written before coverage existed and with other wording in the explanation.
    del old["coverage_percent"], old["min_coverage_percent"]
    old["explanation"] = [line.replace("half_up", "ROUND_HALF_UP") for line in old["explanation"]]
    text = dumps_json(old)
    await FinalizedStore(store).add(
        [FinalizedReport("acme-api", "2026-06", NOW, sha256_of(text), text)]
    )
    report = await build_report(config, store, "credits", "2026-06", NOW, contract_id="acme-api")
    (entry,) = report.entries
    assert (entry.status, entry.changes) == ("finalized", ())
    old["bad"] = "3299"
    text = dumps_json(old)
    await store_replace_finalized(store, text)
    report = await build_report(config, store, "credits", "2026-06", NOW, contract_id="acme-api")
    (entry,) = report.entries
    assert entry.status == "changed since finalized"
    assert [(c.field, c.finalized, c.current) for c in entry.changes] == [("bad", "3299", "3300")]


async def store_replace_finalized(store: Store, content: str) -> None:
    from slamon.store.schema import finalized_reports

    async with store.engine.begin() as conn:
        await conn.execute(
            finalized_reports.update().values(content=content, sha256=sha256_of(content))
        )


async def test_a_late_result_revises_a_finalized_period(world) -> None:  # type: ignore[no-untyped-def]
    """Late evidence replaces stored intervals; the finalized report shows it moved."""
    from prometheus_client import CollectorRegistry, generate_latest

    from probes.result import Result
    from sla_engine.accounting.confirmation import ConfirmPolicy
    from sla_engine.time.states import State
    from slamon.engine import Engine
    from slamon.metrics.locations import LocationCollector
    from slamon.store import engine_state
    from slamon.store.writer import Writer
    from tests.report_fixtures import t

    config, store = world
    await finalize(config, store, "2026-06", NOW)
    engine = Engine(
        {"web": ConfirmPolicy(1, 1)},
        Writer(store),
        locations={"web": ["local"]},
        intervals={"web": 60},
        clock=lambda: t(25, 12, 30),
    )
    saved = await engine_state.load(store.engine, ["web"], since=t(20))
    engine.restore(saved, t(25, 12))
    for minute in range(11):
        engine.ingest(Result("web", "local", t(25, 12, minute), State.UP, 0.1))
    assert engine.revised == 0  # up, as the store already says
    # Measured at 12:04:30 and 12:05:30, delivered late (an agent's spool): down.
    engine.ingest(Result("web", "local", t(25, 12, 4, 30), State.DOWN, 0.1))
    assert engine.revised == 1
    await engine.writer.flush()
    spans = await store.intervals(Interval(t(25, 12), t(25, 13)), ["web"])
    assert [(i.state, i.start, i.end) for i in spans["web"]][-2:] == [
        (State.DOWN, t(25, 12, 4, 30), t(25, 12, 5)),
        (State.UP, t(25, 12, 5), None),
    ]
    report = await build_report(config, store, "credits", "2026-06", NOW)
    web = {e.report.contract.id: e for e in report.entries}["globex-web"]
    assert web.status == "changed since finalized"
    registry = CollectorRegistry()
    registry.register(LocationCollector(engine))
    assert b"slamon_intervals_revised_total 1.0" in generate_latest(registry)
