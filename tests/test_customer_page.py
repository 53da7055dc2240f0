"""A customer's own page, /c/<customer>: two customers, each sees only their own.

A real store with history, incidents (one excluded, with a reason that names the other
customer) and a finalized past period; the page's clock is fixed (the only mock).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from probes.result import Result
from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import Impact
from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.config.common import ConfigError
from slamon.config.load import parse_config
from slamon.reports.finalize import finalize
from slamon.store import migrate
from slamon.store.incidents import IncidentStore
from slamon.store.sql import IntervalChange, Store
from slamon.store.writer import Writer
from slamon.web.customers import CLOCK

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACME = "acme-page-token-0123456789abcdef"
BETA = "beta-page-token-fedcba9876543210"


def config_data(tmp_path: Path) -> dict[str, Any]:
    def contract(cid: str, who: str, who_id: str, comp: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": cid,
            "customer": who,
            "customer_id": who_id,
            "components": [comp],
            "unknown": "exclude",
            "tiers": [{"below": "99.9", "credit_percent": 10}],
            **extra,
        }

    return {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/customers.db"},
        "statuspage": {"title": "Example status", "url": "https://status.example.test/"},
        "monitors": [
            {"id": "m-api", "type": "tcp", "target": "127.0.0.1:9", "interval": "10m"},
            {"id": "m-web", "type": "tcp", "target": "127.0.0.1:9", "interval": "10m"},
        ],
        "components": [
            {"id": "api", "name": "Public API", "monitors": ["m-api"]},
            {"id": "web", "name": "Website", "monitors": ["m-web"]},
        ],
        "contracts": [
            contract(
                "acme-api",
                "ACME Corp",
                "C-1001",
                "api",
                target="99.9",
                monthly_fee="1000.00",
                currency="EUR",
                show_credit=True,
            ),
            contract(
                "beta-web",
                "Beta AS",
                "C-2002",
                "web",
                target="99.5",
                monthly_fee="777.00",
                currency="NOK",
            ),
        ],
        "customers": [{"id": "C-1001", "token": ACME}, {"id": "C-2002", "token": BETA}],
        "alerts": {"evaluation_interval": "1h"},
    }


async def history(url: str) -> None:
    """api: 60 min down on 10 Nov (an incident), 30 min on 20 Nov (excluded), 10 in October."""
    store = Store.from_url(url)
    await migrate.upgrade(store.engine)
    writer = Writer(store)
    start = NOW - timedelta(days=70)
    for m in ("m-api", "m-web"):
        writer.add_change(IntervalChange(m, State.UP, start))
    for down, minutes in (
        (datetime(2026, 10, 14, 8, 0, tzinfo=UTC), 10),
        (datetime(2026, 11, 10, 10, 0, tzinfo=UTC), 60),
        (datetime(2026, 11, 20, 9, 0, tzinfo=UTC), 30),
    ):
        writer.add_change(IntervalChange("m-api", State.DOWN, down))
        writer.add_change(IntervalChange("m-api", State.UP, down + timedelta(minutes=minutes)))
    for m in ("m-api", "m-web"):  # the last checks: a restart closes the history here
        writer.add_result(Result(m, "local", NOW, State.UP, 0.1))
    await writer.flush()
    incidents = IncidentStore(store)
    outage = await incidents.open(
        title="API outage",
        component_ids=["api"],
        impact=Impact.MAJOR,
        opened=datetime(2026, 11, 10, 10, 0, tzinfo=UTC),
    )
    await incidents.resolve(
        outage.id, datetime(2026, 11, 10, 11, 0, tzinfo=UTC), "Fixed.", "slamon", human=False
    )
    test = await incidents.open(
        title="API overloaded",
        component_ids=["api"],
        impact=Impact.MAJOR,
        opened=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    await incidents.resolve(
        test.id, datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "Load is back to normal.", "slamon"
    )
    await incidents.mark_excluded(
        test.id, ExclusionKind.CUSTOMER_CAUSED, "Beta AS ran a load test on our API", "finance-eve"
    )
    await store.close()


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = parse_config(config_data(tmp_path), {})
    await history(config.store.url)
    store = Store.from_url(config.store.url)
    await finalize(config, store, "2026-10", NOW, contract_id="acme-api")
    await store.close()
    app = create_app(build_runtime(config))
    app[CLOCK] = lambda: NOW
    return await aiohttp_client(app)


async def page(client, path: str, token: str | None = None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = await client.get(path, headers=headers, allow_redirects=False)
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    return resp.status, await resp.text()


ACME_ONLY = ["ACME Corp", "acme-api", "Public API", "API outage", "API overloaded", "EUR"]
BETA_ONLY = ["Beta AS", "beta-web", "Website"]


async def test_each_customer_sees_its_own_page_and_nothing_of_the_other(client) -> None:  # type: ignore[no-untyped-def]
    status, acme = await page(client, "/c/C-1001", ACME)
    assert status == 200
    for word in ACME_ONLY:
        assert word in acme, word
    for word in [*BETA_ONLY, "C-2002", "NOK", "777"]:
        assert word not in acme, word
    # The current period so far: 26.5 days, 60 minutes counted (the excluded 30 are not).
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", acme))
    assert "Period 2026-11, measured until 27 Nov 2026, 12:00 UTC" in text
    assert "Measured 99.842%" in text  # 1 - 3600 / 2,289,600 s (or 2,287,800), truncated
    assert "Below target" in text
    # A budget of 2,289.6 s, 3,600 used: -57.2 %, 1,310.4 s (22 minutes, rounded up) over.
    assert "Error budget left -57.2% (22 min over)" in text
    assert "10 Nov 2026, 10:00 UTC 10 Nov 2026, 11:00 UTC 3600 API outage" in text
    assert "10 % = 100.00 EUR" in text  # the contract allows showing the credit
    assert "caused on the customer" in text
    assert "load test" not in acme and "finance-eve" not in acme  # reasons and who: internal
    # October's finalized figures: 10 minutes of 44,640.
    assert "2026-10 99.977% Target met 77.5% 0 % = 0.00 EUR" in text

    status, beta = await page(client, "/c/C-2002", BETA)
    assert status == 200
    for word in BETA_ONLY:
        assert word in beta, word
    for word in [*ACME_ONLY, "C-1001"]:
        assert word not in beta, word
    assert "Service credit" not in beta and "777" not in beta  # not shown to Beta
    assert "100.000%" in beta and "Target met" not in beta  # the period is still open
    assert "On target so far" in beta

    # Each token opens its own page only; an unknown customer looks like a wrong token.
    assert (await page(client, "/c/C-2002", ACME))[0] == 403
    assert (await page(client, "/c/C-1001", BETA))[0] == 403
    assert (await page(client, "/c/C-9999", ACME))[0] == 403
    for path in ("/c/C-1001", "/c/C-9999"):
        status, login = await page(client, path)
        assert status == 401
        assert 'name="token" type="password"' in login
        assert "ACME" not in login and "Beta" not in login


async def test_a_link_with_the_token_sets_a_cookie_for_that_page_only(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get(f"/c/C-1001?token={ACME}", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/c/C-1001"  # the token leaves the address bar
    cookie = resp.cookies["slamon_customer"]
    assert cookie["path"] == "/c/C-1001"
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["secure"]
    assert ACME not in cookie.value
    headers = {"Cookie": f"slamon_customer={cookie.value}"}
    resp = await client.get("/c/C-1001", headers=headers)
    assert resp.status == 200
    assert "ACME Corp" in await resp.text()
    # The same cookie, sent by hand to the other customer's page, opens nothing.
    resp = await client.get("/c/C-2002", headers=headers)
    assert resp.status == 403
    assert "Beta" not in await resp.text()
    # The form does the same as the link; a wrong token gets the form again.
    resp = await client.post("/c/C-2002", data={"token": BETA}, allow_redirects=False)
    assert resp.status == 303
    resp = await client.post("/c/C-2002", data={"token": ACME}, allow_redirects=False)
    assert resp.status == 403
    assert "That token does not open this page." in await resp.text()


def test_a_customer_page_needs_a_long_token_and_a_contract(tmp_path: Path) -> None:
    data = config_data(tmp_path)
    data["customers"] = [{"id": "C-1001", "token": "short"}, {"id": "C-7", "token": ACME + "x"}]
    with pytest.raises(ConfigError) as err:
        parse_config(data, {})
    assert any(e.startswith("customers[0].token: must be at least 24") for e in err.value.errors)
    data["customers"] = [{"id": "C-7", "token": ACME}]
    with pytest.raises(ConfigError) as err:
        parse_config(data, {})
    assert err.value.errors == ["customers[0].id: no contract has the customer_id 'C-7'"]
