"""`slamon rules`: promtool checks the rule file and runs unit tests on its alerts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from slamon.alerting.rules import render_rules, rule_groups, to_yaml
from slamon.config.load import parse_config
from slamon.config.model import Config
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
SLO_LABELS = {"sloth_id": "api-slo", "sloth_service": "slamon", "sloth_slo": "api-slo"}


def config() -> Config:
    return parse_config(
        {
            "monitors": [
                {"id": "api", "type": "tcp", "target": "127.0.0.1:1"},
                {"id": "db.primary", "type": "tcp", "target": "127.0.0.1:2"},
            ],
            "components": [{"id": "data", "name": "Data", "monitors": ["db.primary"]}],
            "slos": [
                {"id": "api-slo", "name": "API", "monitors": ["api"], "target": 99.9},
                {"id": "data-28d", "component": "data", "target": "99.5", "window": "28d"},
            ],
        },
        {},
    )


def promtool() -> str:
    path = shutil.which("promtool")
    require(path is not None, "promtool (Debian package 'prometheus')")
    assert path is not None
    return path


def test_sloth_style_names() -> None:
    groups = rule_groups(config())["groups"]
    assert [g["name"] for g in groups[:3]] == [
        "slamon-slo-api-slo-sli-recordings",
        "slamon-slo-api-slo-meta-recordings",
        "slamon-slo-api-slo-alerts",
    ]
    records = [r["record"] for r in groups[0]["rules"]]
    assert records == [
        "slo:sli_error:ratio_rate5m",
        "slo:sli_error:ratio_rate30m",
        "slo:sli_error:ratio_rate1h",
        "slo:sli_error:ratio_rate6h",
        "slo:sli_error:ratio_rate3d",
        "slo:sli_error:ratio_rate30d",
    ]
    assert "slo:sli_error:ratio_rate4m40s" in [r["record"] for r in groups[3]["rules"]]
    assert '"^(db\\\\.primary)$"' in groups[3]["rules"][0]["expr"]


def test_yaml_writer_round_trips_through_json_shapes() -> None:
    assert (
        to_yaml({"a": [{"b": "x\ny", "c": 1}], "d": {}})
        == "a:\n  - b: |-\n      x\n      y\n    c: 1\nd: {}"
    )


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "slamon.rules.yml"
    path.write_text(render_rules(config()))
    proc = subprocess.run(
        [promtool(), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 30 rules found" in proc.stdout


def _series(state: str, values: str) -> dict[str, str]:
    return {"series": f'slamon_monitor_state{{monitor="api",state="{state}"}}', "values": values}


def _alert(severity: str) -> dict[str, object]:
    return {
        "exp_labels": {
            "severity": severity,
            "sloth_severity": severity,
            "slo": "api-slo",
            **SLO_LABELS,
        },
        "exp_annotations": {
            "summary": "SLO API burns its error budget too fast",
            "title": f"({severity}) slamon api-slo SLO error budget burn rate is too fast.",
        },
    }


def test_promtool_unit_tests_the_alerts(tmp_path: Path) -> None:
    rules = tmp_path / "slamon.rules.yml"
    rules.write_text(render_rules(config()))
    # 100 minutes up, then 20 down (one sample a minute).
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    _series("up", "1x100 0x20"),
                    _series("down", "0x100 1x20"),
                    _series("degraded", "0x120"),
                    _series("maintenance", "0x120"),
                    _series("unknown", "0x120"),
                ],
                "alert_rule_test": [
                    {"eval_time": "90m", "alertname": "SlamonSLOBurnRate", "exp_alerts": []},
                    {
                        "eval_time": "120m",
                        "alertname": "SlamonSLOBurnRate",
                        "exp_alerts": [_alert("page"), _alert("ticket")],
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": 'slo:sli_error:ratio_rate5m{sloth_id="api-slo"}',
                        "eval_time": "120m",
                        "exp_samples": [
                            {
                                "labels": 'slo:sli_error:ratio_rate5m{sloth_id="api-slo",'
                                'sloth_service="slamon",sloth_slo="api-slo",sloth_window="5m"}',
                                "value": 1,
                            }
                        ],
                    },
                    {
                        "expr": 'slo:objective:ratio{sloth_id="api-slo"}',
                        "eval_time": "1m",
                        "exp_samples": [
                            {
                                "labels": 'slo:objective:ratio{sloth_id="api-slo",'
                                'sloth_service="slamon",sloth_slo="api-slo"}',
                                "value": 0.999,
                            }
                        ],
                    },
                ],
            }
        ],
    }
    test_file = tmp_path / "slamon.rules.test.yml"
    test_file.write_text(json.dumps(tests, indent=2))  # JSON is YAML
    proc = subprocess.run(
        [promtool(), "test", "rules", test_file.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_cli_writes_the_rules(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[monitors]]\nid = "api"\ntype = "tcp"\ntarget = "127.0.0.1:1"\n'
        '[[slos]]\nid = "api-slo"\nmonitors = ["api"]\ntarget = 99.9\n'
    )
    out = tmp_path / "rules.yml"
    proc = subprocess.run(
        [sys.executable, "-m", "slamon", "rules", "--config", str(cfg), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("# Generated by `slamon rules`")
