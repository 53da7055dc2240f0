"""A customer's statement: HTML and PDF from a real store, read as finance would read it."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from slamon.app import add_routes, build_runtime
from slamon.reports.finalize import build_report, finalize
from slamon.reports.gather import ReportError
from slamon.reports.pdf import html_to_pdf
from slamon.reports.statement import build_statement, render_statement_html
from slamon.store.sql import Store
from tests.conftest import require
from tests.report_fixtures import NOW, make_config, populate

FIN = {"Authorization": "Bearer fin-token"}


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as ``pdftotext -layout`` reads it (poppler-utils)."""
    require(shutil.which("pdftotext") is not None, "pdftotext (Debian's poppler-utils)")
    path = tmp_path / "statement.pdf"
    path.write_bytes(pdf)
    run = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture
async def world(store: Store):  # type: ignore[no-untyped-def]
    await populate(store)
    return make_config(str(store.engine.url)), store


async def test_statement_holds_every_part_of_the_credit(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    statement = await build_statement(config, store, "C-1001", "2026-06", NOW)
    # ACME has two contracts: the API's availability and its latency.
    assert [p.report.contract.id for p in statement.parts] == ["acme-api", "acme-latency"]
    html = render_statement_html(statement)
    report = await build_report(config, store, "credits", "2026-06", NOW)
    sha = {e.report.contract.id: e.sha256 for e in report.entries}
    for needle in (
        "ACME Corp",
        "C-1001",
        "625.00 EUR",  # the availability credit, as the credits report says
        "5000 JPY",  # the latency credit (JPY has no minor unit)
        "99.965277 %",  # coverage, cut to 6 decimals
        "Europe/Oslo",
        "API errors",  # an incident with its timeline
        "customer firewall change, ticket 4411",  # the exclusion's reason
        "Amount owed: 625.00 EUR (rounded once, half_up, to 2 decimals)",
        sha["acme-api"],
        sha["acme-latency"],
    ):
        assert needle in html, needle
    # The day-by-day chart: one bar per local day of June, and the bad days named.
    assert html.count("<rect ") == 2 * 30
    # June 5th: 30 of 1,410 minutes down once the 30 minutes of maintenance are left out.
    assert "5 Jun 2026: 97.872340 % (30 min)" in html
    # Sent to the customer: no names of the people who wrote updates or exclusions.
    assert "alice@example.com" not in html and "bob@example.com" not in html
    # The globex contract is another customer's.
    assert "Globex" not in html

    text = pdf_text(html_to_pdf(html), tmp_path)
    assert "625.00 EUR" in text and "5000 JPY" in text
    assert re.search(r"Total credit: 625\.00 EUR", text)


async def test_same_data_same_bytes(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    first = render_statement_html(await build_statement(config, store, "C-1001", "2026-06", NOW))
    later = NOW + timedelta(days=40)
    second = render_statement_html(await build_statement(config, store, "C-1001", "2026-06", later))
    assert first == second
    assert html_to_pdf(first) == html_to_pdf(second)


async def test_norwegian_statement(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    statement = await build_statement(config, store, "C-1001", "2026-06", NOW, language="nb")
    html = render_statement_html(statement)
    assert 'lang="nb"' in html and "Tjenestenivårapport" in html
    assert "625,00 EUR" in html and "ikke oppfylt" in html
    text = pdf_text(html_to_pdf(html), tmp_path)
    assert "625,00 EUR" in text


async def test_finalized_and_insufficient_data_are_stated(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    reason = "probes moved hosts; agreed on June 3"
    await finalize(config, store, "2026-05", NOW, accept_insufficient_data=reason)
    html = render_statement_html(await build_statement(config, store, "C-1001", "2026-05", NOW))
    assert "insufficient data" in html
    assert f"Insufficient data accepted when finalized: {reason}" in html
    assert ">finalized<" in html


async def test_bad_requests(world) -> None:  # type: ignore[no-untyped-def]
    config, store = world
    with pytest.raises(ReportError, match="no contract has the customer id 'C-9'"):
        await build_statement(config, store, "C-9", "2026-06", NOW)
    with pytest.raises(ReportError, match="language must be one of en, nb"):
        await build_statement(config, store, "C-1001", "2026-06", NOW, language="de")
    with pytest.raises(ReportError, match="one period"):
        await build_statement(config, store, "C-1001", "2026-05..2026-06", NOW)


async def test_statement_over_http(aiohttp_client, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await populate(store)
    runtime = build_runtime(make_config(str(store.engine.url)), store)
    app = web.Application()
    add_routes(app, runtime)
    client = await aiohttp_client(app)
    path = "/api/v1/reports/statement?customer=C-1001&period=2026-06"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert (await client.get(path, headers=headers)).status == 401
    resp = await client.get(path, headers=FIN)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    assert 'filename="statement-C-1001-2026-06.pdf"' in resp.headers["Content-Disposition"]
    pdf = await resp.read()
    assert resp.headers["X-Content-SHA256"] == hashlib.sha256(pdf).hexdigest()
    assert "625.00 EUR" in pdf_text(pdf, tmp_path)
    html = await client.get(path + "&format=html&language=nb", headers=FIN)
    assert html.status == 200 and "625,00 EUR" in await html.text()
    bad = await client.get("/api/v1/reports/statement?period=2026-06", headers=FIN)
    assert bad.status == 400 and "customer and period are required" in await bad.text()
    bad = await client.get(path + "&format=docx", headers=FIN)
    assert bad.status == 400
