"""``slamon rules``: Prometheus recording and alerting rules for every SLO, Sloth-style.

For users who evaluate SLOs in Prometheus rather than in slamon. The shape follows
what Sloth generates, so its dashboards work: ``slo:sli_error:ratio_rate<window>``
recordings with ``sloth_id``/``sloth_service``/``sloth_slo``/``sloth_window`` labels,
the ``slo:objective:ratio`` family of meta recordings, and multiwindow burn-rate
alerts. The windows and thresholds are slamon's (``sla_engine.slis.budget``): page above
14.4x over 1h and 5m or above 6x over 6h and 30m, ticket above 1x over 3d and 6h,
for a 30-day window, scaled for others; "above" is strict, as in slamon.

The SLI is read from ``slamon_monitor_state`` (the confirmed state, 1 or 0 per
state): the error ratio over a window is the time down over the time up, degraded or
down, so maintenance and unknown time leave the total, as they do in slamon. For an
SLO over several monitors it is the sum over monitors (time-weighted average), which
is what slamon computes for one monitor and an approximation of "worst monitor" for
several.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sla_engine.slis.budget import AlertSeverity, multiwindow_rules
from sla_engine.slis.slo import alert_windows, prometheus_duration

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.config.slos import SLOConfig

SERVICE = "slamon"
ALERT_NAME = "SlamonSLOBurnRate"


def _monitors(config: Config, slo: SLOConfig) -> list[str]:
    if slo.component is not None:
        return next(
            list(c.monitors) for c in config.effective_components() if c.id == slo.component
        )
    return list(slo.monitors or ())


def _selector(monitors: Iterable[str], states: str) -> str:
    alternatives = "|".join(m.replace(".", "\\\\.") for m in sorted(monitors))
    return f'slamon_monitor_state{{monitor=~"^({alternatives})$",state=~"{states}"}}'


def _labels(slo: SLOConfig) -> dict[str, str]:
    return {"sloth_id": slo.id, "sloth_service": SERVICE, "sloth_slo": slo.id}


def _match(slo: SLOConfig) -> str:
    return f'{{sloth_id="{slo.id}", sloth_service="{SERVICE}", sloth_slo="{slo.id}"}}'


def slo_rule_groups(config: Config, slo: SLOConfig) -> list[dict[str, Any]]:
    """The three rule groups (SLI recordings, meta recordings, alerts) of one SLO."""
    window = timedelta(seconds=slo.window)
    period = prometheus_duration(window)
    monitors = _monitors(config, slo)
    budget = (1 - slo.target / 100).normalize()
    labels = _labels(slo)
    match = _match(slo)

    sli = []
    for w in alert_windows(window):
        name = prometheus_duration(w)
        sli.append(
            {
                "record": f"slo:sli_error:ratio_rate{name}",
                "expr": (
                    f"(sum(avg_over_time({_selector(monitors, 'down')}[{name}])))\n"
                    f"/\n"
                    f"(sum(avg_over_time({_selector(monitors, 'up|degraded|down')}[{name}])))"
                ),
                "labels": {**labels, "sloth_window": name},
            }
        )
    shortest = prometheus_duration(alert_windows(window)[0])
    sli.append(
        {
            "record": f"slo:sli_error:ratio_rate{period}",
            "expr": (
                f"sum_over_time(slo:sli_error:ratio_rate{shortest}{match}[{period}])\n"
                f"/ ignoring (sloth_window)\n"
                f"count_over_time(slo:sli_error:ratio_rate{shortest}{match}[{period}])"
            ),
            "labels": {**labels, "sloth_window": period},
        }
    )
    on = "on (sloth_id, sloth_slo, sloth_service) group_left"
    meta = [
        {"record": "slo:objective:ratio", "expr": f"vector({slo.target / 100})", "labels": labels},
        {"record": "slo:error_budget:ratio", "expr": f"vector({budget})", "labels": labels},
        {
            "record": "slo:time_period:days",
            "expr": f"vector({Decimal(slo.window) / 86400:g})",
            "labels": labels,
        },
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": (
                f"slo:sli_error:ratio_rate{shortest}{match}\n/ {on}\nslo:error_budget:ratio{match}"
            ),
            "labels": labels,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": (
                f"slo:sli_error:ratio_rate{period}{match}\n/ {on}\nslo:error_budget:ratio{match}"
            ),
            "labels": labels,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{match}",
            "labels": labels,
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {**labels, "sloth_objective": f"{slo.target}", "sloth_mode": "slamon"},
        },
    ]

    alerts = []
    rules = multiwindow_rules(window)
    for severity in (AlertSeverity.PAGE, AlertSeverity.TICKET):
        clauses = []
        for rule in (r for r in rules if r.severity is severity):
            pair = []
            for w in (rule.short_window, rule.long_window):
                name = prometheus_duration(w)
                pair.append(
                    f"max(slo:sli_error:ratio_rate{name}{match} > ({rule.threshold} * {budget})) "
                    "without (sloth_window)"
                )
            clauses.append("(\n  " + "\n  and\n  ".join(pair) + "\n)")
        alerts.append(
            {
                "alert": ALERT_NAME,
                "expr": "\nor\n".join(clauses),
                "labels": {
                    "severity": severity.value,
                    "sloth_severity": severity.value,
                    "slo": slo.id,
                },
                "annotations": {
                    "summary": f"SLO {slo.display_name} burns its error budget too fast",
                    "title": (
                        f"({severity.value}) {{{{$labels.sloth_service}}}} "
                        "{{$labels.sloth_slo}} SLO error budget burn rate is too fast."
                    ),
                },
            }
        )
    base = f"slamon-slo-{slo.id}"
    return [
        {"name": f"{base}-sli-recordings", "rules": sli},
        {"name": f"{base}-meta-recordings", "rules": meta},
        {"name": f"{base}-alerts", "rules": alerts},
    ]


def rule_groups(config: Config) -> dict[str, Any]:
    """The whole rule file for ``config``'s SLOs."""
    return {"groups": [g for slo in config.slos for g in slo_rule_groups(config, slo)]}


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for rule files: maps, lists, strings, numbers.

    Strings are double-quoted JSON strings (valid YAML) or, when they span lines,
    literal blocks; keys keep their order.
    """
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            elif isinstance(item, str) and "\n" in item:
                body = "\n".join(f"{pad}  {line}" for line in item.splitlines())
                lines.append(f"{pad}{key}: |-\n{body}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            text = to_yaml(item, indent + 1)
            lines.append(f"{pad}- {text.lstrip()}")
        return "\n".join(lines)
    return f"{pad}{_scalar(value)}"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value))


def render_rules(config: Config) -> str:
    """The rule file as YAML text."""
    header = (
        "# Generated by `slamon rules` from the [[slos]] of the config; do not edit.\n"
        "# Evaluate in Prometheus next to a scrape of slamon's /metrics.\n"
    )
    return header + to_yaml(rule_groups(config)) + "\n"
