"""deploy/: every metric the Grafana dashboard queries is on /metrics; Prometheus files check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from slamon.alerting.rules import render_rules
from slamon.app import build_runtime
from slamon.config.load import load_config, parse_config
from slamon.store import migrate
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "slamon.json"
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "inf", "nan",
}  # fmt: skip


def dashboard_queries() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    queries = []

    def walk(panels: list[dict]) -> None:  # type: ignore[type-arg]
        for p in panels:
            queries.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
            walk(p.get("panels", []))

    walk(dash["panels"])
    for var in dash["templating"]["list"]:
        query = var.get("query")
        if isinstance(query, dict):
            queries.append(query["query"])
    return queries


def metric_names(query: str) -> set[str]:
    """Metric names in a PromQL expression (or a label_values() variable query)."""
    query = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)  # strings
    query = re.sub(r"\{[^}]*\}", " ", query)  # label matchers
    query = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", query)  # grouping labels
    query = re.sub(r"\[[^\]]*\]", " ", query)  # ranges
    match = re.match(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*)", query)
    if match:
        return {match.group(1)}
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][\w:]*", query):
        word = m.group(0)
        following = query[m.end() :].lstrip()[:1]
        if following == "(" or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def exposed_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            names |= {name, f"{name}_total", f"{name}_count", f"{name}_sum", f"{name}_bucket"}
    return names


def test_metric_name_extraction() -> None:
    assert metric_names('sum by (alertname) (slamon_alerts_active{a="b"})') == {
        "slamon_alerts_active"
    }
    assert metric_names("increase(x_total[1h]) / on (a) group_left y") == {"x_total", "y"}
    assert metric_names("label_values(probe_success, monitor)") == {"probe_success"}


async def test_every_dashboard_metric_is_on_metrics(tmp_path: Path) -> None:
    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/d.db"},
            "confirmation": {"down_after": 1, "up_after": 1},
            # The engine of the distributed setup: its bus and location metrics too.
            "bus": {"kind": "mqtt", "locations": ["local"]},
            "monitors": [{"id": "api", "type": "tcp", "target": "127.0.0.1:9"}],
            "slos": [{"id": "api-slo", "monitors": ["api"], "target": 99.9}],
            "notifiers": [{"id": "hook", "type": "webhook", "url": "http://127.0.0.1:9/"}],
        },
        {},
    )
    runtime = build_runtime(config)
    await migrate.upgrade(runtime.store.engine)
    now = datetime.now(UTC)
    runtime.engine.ingest(
        Result(
            "api",
            "local",
            now - timedelta(minutes=2),
            State.UP,
            0.02,
            metrics={"ssl_earliest_cert_expiry": now.timestamp() + 86400 * 40},
        )
    )
    runtime.engine.ingest(
        Result(
            "api",
            "local",
            now - timedelta(minutes=1),
            State.DOWN,
            1.0,
            ErrorClass.HTTP_STATUS,
            metrics={"ssl_earliest_cert_expiry": now.timestamp() + 86400 * 40},
        )
    )
    await runtime.writer.flush()
    assert runtime.ops is not None
    await runtime.ops.evaluate(now)
    text = generate_latest(runtime.registry).decode()
    await runtime.store.close()

    exposed = exposed_names(text)
    wanted = set().union(*(metric_names(q) for q in dashboard_queries()))
    assert wanted, "the dashboard queries nothing?"
    # The Cluster row's series are a cluster engine's (the next test).
    assert sorted(wanted - exposed - cluster_row_metrics()) == []
    # And they have samples, not just a TYPE line.
    for name in (
        "slamon_slo_availability_ratio",
        "slamon_slo_burn_rate",
        "probe_ssl_earliest_cert_expiry",
    ):
        assert re.search(rf"^{name}\{{", text, re.MULTILINE), name
    assert 'slamon_slo_burn_rate{slo="api-slo",window="5m"}' in text
    # The objective prints exactly: 99.9 % is 0.999, not 0.9990000000000001.
    assert re.search(r"^slamon_slo_objective_ratio\{slo=\"api-slo\"\} 0.999$", text, re.MULTILINE)
    assert 'slamon_alerts_active{alertname="SlamonMonitorDown",severity="critical"} 1.0' in text


def cluster_row_metrics() -> set[str]:
    """The metrics the dashboard's Cluster row queries (its panels below the row)."""
    dash = json.loads(DASHBOARD.read_text())
    row = next(p for p in dash["panels"] if p["type"] == "row" and p["title"].startswith("Cluster"))
    below = [p for p in dash["panels"] if p["gridPos"]["y"] > row["gridPos"]["y"]]
    return set().union(
        *(metric_names(t["expr"]) for p in below for t in p.get("targets", []) if t.get("expr"))
    )


CLUSTER_METRICS = {
    "slamon_shard_owner",
    "slamon_cluster_leader",
    "slamon_lease_age_seconds",
    "slamon_shard_handovers_total",
    "slamon_shard_failover_seconds_bucket",
    "slamon_cluster_members",
    "slamon_fence_refusals_total",
}


async def test_the_cluster_row_queries_a_cluster_engines_metrics(tmp_path: Path) -> None:
    # A cluster member's registry (nothing connects: building it needs no database).
    config = parse_config(
        {
            "store": {"url": "postgresql+asyncpg://nobody@127.0.0.1:9/none"},
            "bus": {"kind": "mqtt", "locations": ["local"], "shards": 4},
            "cluster": {"enabled": True, "engine_id": "e1"},
            "monitors": [{"id": "api", "type": "tcp", "target": "127.0.0.1:9"}],
        },
        {},
    )
    runtime = build_runtime(config)
    text = generate_latest(runtime.registry).decode()
    await runtime.store.close()
    exposed = exposed_names(text)
    wanted = cluster_row_metrics()
    # The row shows every cluster series, and each is on a cluster engine's /metrics.
    assert wanted >= CLUSTER_METRICS, sorted(CLUSTER_METRICS - wanted)
    assert sorted(wanted - exposed) == []
    assert 'slamon_cluster_leader{engine="e1"} 0.0' in text


def test_the_shipped_rules_match_the_example_config() -> None:
    shipped = ROOT / "deploy" / "prometheus" / "rules" / "slamon.rules.yml"
    assert shipped.read_text() == render_rules(load_config(ROOT / "config.toml")), (
        "regenerate: slamon rules --config config.toml -o deploy/prometheus/rules/slamon.rules.yml"
    )


def test_promtool_checks_the_scrape_config() -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (Debian package 'prometheus')")
    assert promtool is not None
    proc = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=ROOT / "deploy" / "prometheus",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dashboard_is_well_formed() -> None:
    dash = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in dash["panels"]}
    for needed in (
        "Burn rate per window",
        "Error budget remaining",
        "Certificate expiry",
        "Probe latency",
    ):
        assert needed in titles
