"""/api/v1/reports/...: finance data behind the finance token, same bytes as the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from slamon.app import add_routes, build_runtime
from slamon.reports.entries import sha256_of
from slamon.store.sql import Store
from tests.report_fixtures import make_config, populate

VECTORS = Path(__file__).resolve().parent / "data" / "sla_vectors.json"
FIN = {"Authorization": "Bearer fin-token"}


@pytest.fixture
async def client(aiohttp_client, store: Store):  # type: ignore[no-untyped-def]
    await populate(store)
    runtime = build_runtime(make_config(str(store.engine.url)), store)
    app = web.Application()
    add_routes(app, runtime)  # routes only: no probing in this test
    return await aiohttp_client(app)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/reports/credits?period=2026-06",
        "/api/v1/reports/availability?period=2026-06",
        "/api/v1/reports/suggest?component=api",
    ],
)
async def test_finance_token_required(client, path: str) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        resp = await client.get(path, headers=headers)
        assert resp.status == 401
        assert "credit" not in await resp.text()
    resp = await client.post("/api/v1/reports/whatif", data="[]")
    assert resp.status == 401


async def test_credits_json_and_csv(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get("/api/v1/reports/credits?period=2026-06", headers=FIN)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.text()
    assert resp.headers["X-Content-SHA256"] == sha256_of(body)
    doc = json.loads(body)
    assert [c["contract_id"] for c in doc["contracts"]] == [
        "acme-api",
        "globex-web",
        "acme-latency",
    ]
    again = await client.get("/api/v1/reports/credits?period=2026-06", headers=FIN)
    assert await again.text() == body
    resp = await client.get(
        "/api/v1/reports/credits?period=2026-06&format=csv&part=detail&contract=acme-api",
        headers=FIN,
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert (await resp.text()).startswith("contract_id,customer_id,period,item,")
    admin = await client.get(
        "/api/v1/reports/availability?period=2026-06", headers={"Authorization": "Bearer adm-token"}
    )
    assert admin.status == 200 and "credit_amount" not in await admin.text()


async def test_bad_requests_say_why(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get("/api/v1/reports/credits", headers=FIN)
    assert resp.status == 400 and "period is required" in await resp.text()
    resp = await client.get("/api/v1/reports/credits?period=2026-06&contract=x", headers=FIN)
    assert resp.status == 400 and "no contract has the id" in await resp.text()


async def test_whatif_and_suggest(client) -> None:  # type: ignore[no-untyped-def]
    vectors = json.loads(VECTORS.read_text())
    resp = await client.post("/api/v1/reports/whatif", data=VECTORS.read_text(), headers=FIN)
    assert resp.status == 200
    got = await resp.json()
    assert [{k: v for k, v in g.items() if k != "id"} for g in got] == [
        v["expected"] for v in vectors
    ]
    resp = await client.get("/api/v1/reports/suggest?component=api&months=3", headers=FIN)
    assert resp.status == 200
    assert len((await resp.json())["months"]) == 3
