"""Prometheus metrics, read from live in-memory state at scrape time.

Probe metrics use blackbox_exporter's names (``probe_success``,
``probe_duration_seconds``, ``probe_http_status_code``...) with ``monitor`` and
``location`` labels, so existing Grafana dashboards work. Nothing here queries the
database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from sla_engine.states import State

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from slamon.bus import InProcessBus
    from slamon.engine import Engine
    from slamon.store.writer import Writer

# Result.metrics keys that become probe_<key> gauges, with their help text.
PROBE_GAUGES = {
    "http_status_code": "Response HTTP status code.",
    "http_content_length": "Length of the HTTP response body read, in bytes.",
    "http_redirects": "The number of redirects followed.",
    "http_ssl": "Whether the final request of the HTTP check used TLS.",
    "http_body_truncated": "Whether the body read stopped at the configured cap.",
    "ssl_earliest_cert_expiry": "Earliest certificate expiry, in unixtime.",
    "dns_lookup_time_seconds": "How long the DNS query took, in seconds.",
    "dns_answer_rrs": "The number of records in the answer section.",
    "dns_authority_rrs": "The number of records in the authority section.",
    "dns_additional_rrs": "The number of records in the additional section.",
    "icmp_packet_loss_ratio": "The share of ICMP echoes that got no reply (0-1).",
}

# Result.metrics keys written "name:phase" become probe_<name>{phase="..."} gauges.
PHASE_GAUGES = {
    "http_duration_seconds": "Duration of each phase of the HTTP check, in seconds.",
    "icmp_duration_seconds": "Duration of each phase of the ICMP check, in seconds.",
}


@dataclass(slots=True)
class _Rows:
    """A gauge family as plain rows: label values and a value each."""

    name: str
    help: str
    labels: tuple[str, ...]
    rows: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


class _Families(Collector):
    """Already-built families, for rendering them with prometheus_client."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        """The families as given."""
        return self.families


# prometheus_client's own float formatting (untyped there), so the bytes match.
_go_float = cast("Callable[[float], str]", floatToGoString)


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class SchedulerMetrics:
    """The scheduler's own metrics, registered in an explicit registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lateness = Histogram(
            "slamon_scheduler_lateness_seconds",
            "How late each check started after its due time.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.skipped = Counter(
            "slamon_scheduler_skipped_checks",
            "Wake-ups skipped because the previous check of the monitor still ran.",
            registry=registry,
        )


class LiveCollector(Collector):
    """Probe, monitor, engine and store metrics from the running objects."""

    def __init__(
        self,
        engine: Engine,
        writer: Writer,
        bus: InProcessBus,
        monitor_names: dict[str, str],
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.bus = bus
        self.monitor_names = monitor_names
        self._rendering = threading.local()

    def _per_monitor(self) -> list[_Rows]:
        """The families with a sample per monitor (and location), as plain rows."""
        labels = ("monitor", "location")
        success = _Rows(
            "probe_success", "Whether the last check succeeded (1) or failed (0).", labels
        )
        duration = _Rows(
            "probe_duration_seconds", "How long the last check took, in seconds.", labels
        )
        extras = {key: _Rows(f"probe_{key}", text, labels) for key, text in PROBE_GAUGES.items()}
        phased = {
            key: _Rows(f"probe_{key}", text, (*labels, "phase"))
            for key, text in PHASE_GAUGES.items()
        }
        for (monitor, location), result in sorted(self.engine.latest.items()):
            ml = (monitor, location)
            success.rows.append((ml, 1.0 if result.ok else 0.0))
            duration.rows.append((ml, result.latency))
            for key, value in result.metrics.items():
                if key in extras:
                    extras[key].rows.append((ml, value))
                else:
                    name, sep, phase = key.partition(":")
                    if sep and name in phased:
                        phased[name].rows.append(((monitor, location, phase), value))
        state = _Rows(
            "slamon_monitor_state",
            "The confirmed state of each monitor: 1 for the state it is in, 0 for the others.",
            ("monitor", "state"),
        )
        since = _Rows(
            "slamon_monitor_state_since_timestamp_seconds",
            "When the monitor entered its confirmed state, in unixtime.",
            ("monitor",),
        )
        for monitor in sorted(self.engine.trackers):
            current = self.engine.state(monitor)
            for s in State:
                state.rows.append(((monitor, s.value), 1.0 if s is current else 0.0))
            if monitor in self.engine.state_since:
                since.rows.append(((monitor,), self.engine.state_since[monitor].timestamp()))
        return [success, duration, *extras.values(), *phased.values(), state, since]

    def collect(self) -> Iterable[Metric]:
        """Yield every metric family from current state."""
        if getattr(self._rendering, "active", False):
            return  # render_text() writes these itself
        for rows in self._per_monitor():
            family = GaugeMetricFamily(rows.name, rows.help, labels=list(rows.labels))
            for values, value in rows.rows:
                family.add_metric(list(values), value)
            yield family
        yield from self._scalars()

    def render_text(self, registry: CollectorRegistry) -> bytes:
        """``generate_latest(registry)``, byte for byte, several times faster.

        prometheus_client spends ~15 us on every sample; ten thousand monitors make
        some 170,000 samples. This writes the per-monitor families directly, building
        each label set once per scrape. It assumes this collector is the last one
        registered (as ``build_runtime`` does), so that the order matches too.
        """
        self._rendering.active = True
        try:
            head = generate_latest(registry)
        finally:
            self._rendering.active = False
        out: list[str] = []
        label_text: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
        for rows in self._per_monitor():
            name = rows.name
            out.append(f"# HELP {name} {_escape_help(rows.help)}\n# TYPE {name} gauge\n")
            order = sorted(range(len(rows.labels)), key=rows.labels.__getitem__)
            for values, value in rows.rows:
                key = (rows.labels, values)
                text = label_text.get(key)
                if text is None:
                    text = ",".join(f'{rows.labels[i]}="{_escape_label(values[i])}"' for i in order)
                    label_text[key] = text
                out.append(f"{name}{{{text}}} {_go_float(value)}\n")
        tail = generate_latest(_Families(list(self._scalars())))
        return head + "".join(out).encode() + tail

    def _scalars(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "slamon_results_ingested", "Results taken in by the engine.", value=self.engine.ingested
        )
        yield CounterMetricFamily(
            "slamon_results_unknown_monitor",
            "Results dropped because their monitor is not configured.",
            value=self.engine.unknown_monitor,
        )
        yield GaugeMetricFamily(
            "slamon_bus_depth", "Results waiting on the bus.", value=self.bus.depth
        )
        yield CounterMetricFamily(
            "slamon_bus_dropped_results",
            "Results dropped because the bus was full.",
            value=self.bus.dropped,
        )
        w = self.writer
        yield GaugeMetricFamily(
            "slamon_store_pending", "Writes waiting for the store.", value=w.pending
        )
        yield CounterMetricFamily(
            "slamon_store_results_written",
            "Raw results committed to the store.",
            value=w.results_written,
        )
        yield CounterMetricFamily(
            "slamon_store_results_duplicate",
            "Results skipped because their id was already stored.",
            value=w.results_duplicate,
        )
        yield CounterMetricFamily(
            "slamon_store_results_dropped",
            "Raw results dropped because the write buffer was full.",
            value=w.results_dropped,
        )
        yield CounterMetricFamily(
            "slamon_store_batches", "Transactions committed by the writer.", value=w.batches
        )
        yield CounterMetricFamily(
            "slamon_store_errors", "Failed store writes (each is retried).", value=w.errors
        )
        yield GaugeMetricFamily(
            "slamon_store_up",
            "Whether the last store write succeeded.",
            value=1.0 if w.healthy else 0.0,
        )
