"""SLO, alert, incident and notifier metrics, read from live objects at scrape time.

Ratios are 0-1 and durations seconds (Prometheus naming guide). Contracts, with the
credit each would owe now, are in :mod:`slamon.metrics.contracts` (contract ids only,
never customer names).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sla_engine.slis.budget import AlertSeverity
from sla_engine.slis.slo import prometheus_duration

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from slamon.alerting.alerts import Alerts
    from slamon.alerting.incidents import IncidentManager
    from slamon.alerting.notify.hub import NotificationHub
    from slamon.alerting.slo import SLOEvaluator


class OperationsCollector(Collector):
    """Exposes the latest SLO evaluation and the alerting machinery's counters."""

    def __init__(
        self,
        slos: SLOEvaluator,
        alerts: Alerts,
        incidents: IncidentManager,
        hub: NotificationHub,
    ) -> None:
        self.slos = slos
        self.alerts = alerts
        self.incidents = incidents
        self.hub = hub

    def collect(self) -> Iterable[Metric]:
        """Yield every family; SLO families are empty until the first evaluation."""
        yield from self._slo_metrics()
        active = GaugeMetricFamily(
            "slamon_alerts_active",
            "Alerts slamon has firing now.",
            labels=["alertname", "severity"],
        )
        # /metrics renders in a thread: copy what the event loop mutates in one C call.
        firing = list(self.alerts.active.values())
        counts = Counter((a.name, a.labels.get("severity", "")) for a in firing)
        for (name, severity), n in sorted(counts.items()):
            active.add_metric([name, severity], n)
        yield active
        yield CounterMetricFamily(
            "slamon_alerts_fired", "Alerts that started firing.", value=self.alerts.fired
        )
        yield CounterMetricFamily(
            "slamon_alerts_resolved", "Alerts that were resolved.", value=self.alerts.resolved
        )
        yield GaugeMetricFamily(
            "slamon_incidents_open",
            "Automatic incidents open now.",
            value=len(set(self.incidents.open_by_component.values())),
        )
        yield CounterMetricFamily(
            "slamon_incident_errors",
            "Incident updates that failed to be written.",
            value=self.incidents.errors,
        )
        labels = ["notifier", "type"]
        families = {
            "sent": CounterMetricFamily(
                "slamon_notifier_sent", "Messages delivered.", labels=labels
            ),
            "failed": CounterMetricFamily(
                "slamon_notifier_failed", "Messages given up after every retry.", labels=labels
            ),
            "retried": CounterMetricFamily(
                "slamon_notifier_retried", "Failed attempts that were retried.", labels=labels
            ),
            "dropped": CounterMetricFamily(
                "slamon_notifier_dropped", "Messages dropped: the queue was full.", labels=labels
            ),
            "deduplicated": CounterMetricFamily(
                "slamon_notifier_deduplicated",
                "Messages not sent again: the same one was sent before.",
                labels=labels,
            ),
        }
        depth = GaugeMetricFamily(
            "slamon_notifier_queue_depth", "Messages waiting to be sent.", labels=labels
        )
        for w in self.hub.workers:
            for attr, family in families.items():
                family.add_metric([w.id, w.kind], getattr(w, attr))
            depth.add_metric([w.id, w.kind], w.depth)
        yield from families.values()
        yield depth

    def _slo_metrics(self) -> Iterable[Metric]:
        slo = ["slo"]
        objective = GaugeMetricFamily(
            "slamon_slo_objective_ratio", "The SLO's target as a ratio.", labels=slo
        )
        window = GaugeMetricFamily(
            "slamon_slo_window_seconds", "The SLO's rolling window.", labels=slo
        )
        availability = GaugeMetricFamily(
            "slamon_slo_availability_ratio",
            "Availability over the SLO's rolling window.",
            labels=slo,
        )
        remaining = GaugeMetricFamily(
            "slamon_slo_error_budget_remaining_ratio",
            "Share of the error budget left over the window (negative once overspent).",
            labels=slo,
        )
        burn = GaugeMetricFamily(
            "slamon_slo_burn_rate",
            "Error budget burn rate over a trailing window (1 spends the budget exactly).",
            labels=["slo", "window"],
        )
        breached = GaugeMetricFamily(
            "slamon_slo_breached", "1 when the budget over the window is spent.", labels=slo
        )
        alert = GaugeMetricFamily(
            "slamon_slo_burn_alert",
            "1 when a multiwindow burn-rate rule of that severity fires.",
            labels=["slo", "severity"],
        )
        exhaustion = GaugeMetricFamily(
            "slamon_slo_budget_exhaustion_seconds",
            "Time until the budget is spent at the current burn rate (absent if not burning).",
            labels=slo,
        )
        for slo_id, st in sorted(self.slos.statuses.items()):
            # Divided as a Decimal: 99.9 / 100 is 0.999, where float(99.9) / 100 is not.
            objective.add_metric([slo_id], float(st.target / 100))
            window.add_metric([slo_id], st.slo_window.total_seconds())
            availability.add_metric([slo_id], float(st.availability.ratio))
            if st.budget_remaining is not None:
                remaining.add_metric([slo_id], float(st.budget_remaining))
            for span, rate in sorted(st.burn_rates.items()):
                burn.add_metric([slo_id, prometheus_duration(span)], float(rate))
            breached.add_metric([slo_id], 1.0 if st.breached else 0.0)
            if st.alert is not None:
                for s in AlertSeverity:
                    firing = any(e.firing and e.rule.severity is s for e in st.alert.evaluations)
                    alert.add_metric([slo_id, s.value], 1.0 if firing else 0.0)
            left = st.forecast.time_left if st.forecast is not None else None
            if left is not None:
                exhaustion.add_metric([slo_id], left.total_seconds())
        yield from (objective, window, availability, remaining, burn, breached, alert, exhaustion)
