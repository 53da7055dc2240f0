"""slamon_contract_*: each contract's current period on /metrics, from memory."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest

from slamon.metrics.contracts import ContractCollector
from slamon.reports.current import CurrentContracts
from slamon.store.sql import Store
from tests.conftest import require
from tests.report_fixtures import make_config, populate

# June 30th, 12:00 UTC: June is the current period of every contract of the fixtures.
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def samples(text: str) -> dict[str, str]:
    return {
        line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1]
        for line in text.splitlines()
        if line.startswith("slamon_contract_")
    }


async def test_contract_figures_are_scraped_from_memory(store: Store) -> None:
    await populate(store)
    current = CurrentContracts(make_config(str(store.engine.url)), store)
    registry = CollectorRegistry()
    registry.register(ContractCollector(current))
    assert samples(generate_latest(registry).decode()) == {}
    await current.refresh(NOW)
    # The scrape reads memory only: with the database gone it still answers.
    await store.close()
    text = generate_latest(registry).decode()
    got = samples(text)
    # acme-api so far: May 31st 22:00 UTC (June 1st in Oslo) to June 30th 12:00 UTC is
    # 2,556,000 s, of which 900 s without data.
    assert got['slamon_contract_coverage_ratio{contract="acme-api"}'] == str(1 - 900 / 2556000)
    assert got['slamon_contract_credit_ratio{contract="acme-api"}'] == "0.25"
    assert got['slamon_contract_credit_amount{contract="acme-api",currency="EUR"}'] == "625.0"
    assert got['slamon_contract_met{contract="acme-api"}'] == "0.0"
    assert got['slamon_contract_insufficient_data{contract="acme-api"}'] == "0.0"
    assert got['slamon_contract_target_ratio{contract="globex-web"}'] == "0.999"
    assert got['slamon_contract_min_coverage_ratio{contract="globex-web"}'] == "0.9"
    assert got['slamon_contract_met{contract="globex-web"}'] == "1.0"
    assert got['slamon_contract_credit_amount{contract="acme-latency",currency="JPY"}'] == "5000.0"
    assert float(got["slamon_contract_evaluated_timestamp_seconds"]) == NOW.timestamp()
    # Contract ids only: no customer names on /metrics.
    assert "ACME" not in text and "Globex" not in text
    require(shutil.which("promtool") is not None, "promtool (Debian's prometheus)")
    run = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


async def test_a_period_without_data_is_insufficient_data_on_metrics(store: Store) -> None:
    await populate(store)  # history starts on May 30th
    current = CurrentContracts(make_config(str(store.engine.url)), store)
    registry = CollectorRegistry()
    registry.register(ContractCollector(current))
    await current.refresh(datetime(2026, 5, 20, tzinfo=UTC))
    got = samples(generate_latest(registry).decode())
    for cid in ("acme-api", "globex-web", "acme-latency"):
        assert got[f'slamon_contract_insufficient_data{{contract="{cid}"}}'] == "1.0"
        assert got[f'slamon_contract_met{{contract="{cid}"}}'] == "0.0"
        assert got[f'slamon_contract_coverage_ratio{{contract="{cid}"}}'] == "0.0"
    # No SLI at all is no sample, never 1.
    assert 'slamon_contract_sli_ratio{contract="globex-web"}' not in got


def test_the_dashboard_has_a_contracts_row_on_these_metrics() -> None:
    from tests.test_deploy import DASHBOARD, metric_names

    dash = json.loads(DASHBOARD.read_text())
    panels = dash["panels"]
    row = next(k for k, p in enumerate(panels) if p["type"] == "row" and p["title"] == "Contracts")
    after = panels[row + 1 :]
    end = next((k for k, p in enumerate(after) if p["type"] == "row"), len(after))
    mine = after[:end]
    assert {p["title"] for p in mine} >= {
        "SLI this period",
        "Contract error budget left",
        "Coverage",
        "Verdict so far",
        "Credit owed if the period ended now",
    }
    names = set().union(*(metric_names(t["expr"]) for p in mine for t in p["targets"]))
    registry = CollectorRegistry()
    registry.register(ContractCollector(CurrentContracts(None, None)))  # type: ignore[arg-type]
    exposed = {
        line.split()[2]
        for line in generate_latest(registry).decode().splitlines()
        if line.startswith("# TYPE ")
    }
    assert names and names <= exposed
    assert all('contract=~"$contract"' in t["expr"] for p in mine for t in p["targets"])
