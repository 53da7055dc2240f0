"""Prometheus metrics, read from live in-memory state at scrape time.

Probe metrics use blackbox_exporter's names (``probe_success``,
``probe_duration_seconds``, ``probe_http_status_code``...) with ``monitor`` and
``location`` labels, so existing Grafana dashboards work. Nothing here queries the
database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from sla_engine.time.states import State

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from probes.result import Result
    from slamon.bus.inprocess import InProcessBus
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
    rows: Iterable[tuple[tuple[str, ...], float]]


_Latest = list[tuple[tuple[str, str], "Result"]]


def _plain(latest: _Latest, key: str) -> Iterator[tuple[tuple[str, ...], float]]:
    for ml, result in latest:
        value = result.metrics.get(key)
        if value is not None:
            yield ml, value


def _phased(latest: _Latest, key: str) -> Iterator[tuple[tuple[str, ...], float]]:
    prefix = key + ":"
    cut = len(prefix)
    for (monitor, location), result in latest:
        for name, value in result.metrics.items():
            if name.startswith(prefix):
                yield (monitor, location, name[cut:]), value


class _Families(Collector):
    """Already-built families, for rendering them with prometheus_client."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        """The families as given."""
        return self.families


_PLACEHOLDER = "slamon_live_collector_placeholder"
_PLACEHOLDER_TEXT = f"# HELP {_PLACEHOLDER} placeholder\n# TYPE {_PLACEHOLDER} gauge\n".encode()

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

    def _per_monitor(self) -> Iterator[_Rows]:
        """The families with a sample per monitor (and location), one at a time.

        Rows are produced lazily, family by family, so that a scrape of ten thousand
        monitors never holds every sample at once.
        """
        labels = ("monitor", "location")
        latest = sorted(self.engine.latest.items())
        yield _Rows(
            "probe_success",
            "Whether the last check succeeded (1) or failed (0).",
            labels,
            ((ml, 1.0 if r.ok else 0.0) for ml, r in latest),
        )
        yield _Rows(
            "probe_duration_seconds",
            "How long the last check took, in seconds.",
            labels,
            ((ml, r.latency) for ml, r in latest),
        )
        for key, text in PROBE_GAUGES.items():
            yield _Rows(f"probe_{key}", text, labels, _plain(latest, key))
        for key, text in PHASE_GAUGES.items():
            yield _Rows(f"probe_{key}", text, (*labels, "phase"), _phased(latest, key))
        owned = self.engine.owned  # in a cluster, each engine tells of its own shards
        monitors = sorted(self.engine.policies if owned is None else owned)
        yield _Rows(
            "slamon_monitor_state",
            "The confirmed state of each monitor: 1 for the state it is in, 0 for the others.",
            ("monitor", "state"),
            (
                ((monitor, s.value), 1.0 if s is current else 0.0)
                for monitor in monitors
                for current in (self.engine.state(monitor),)
                for s in State
            ),
        )
        since = self.engine.state_since
        yield _Rows(
            "slamon_monitor_state_since_timestamp_seconds",
            "When the monitor entered its confirmed state, in unixtime.",
            ("monitor",),
            (((m,), since[m].timestamp()) for m in monitors if m in since),
        )

    def collect(self) -> Iterable[Metric]:
        """Yield every metric family from current state."""
        if getattr(self._rendering, "active", False):
            # render_text() writes these itself, where this placeholder lands.
            yield GaugeMetricFamily(_PLACEHOLDER, "placeholder")
            return
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
        each label set once per scrape, and lets prometheus_client render every other
        collector of ``registry`` around them, in registration order.
        """
        return self.render_own(self.render_around(registry))

    def render_around(self, registry: CollectorRegistry) -> bytes:
        """Every other collector of ``registry``, with a placeholder where this one goes.

        Call it on the event loop: other collectors may iterate state the loop changes.
        """
        self._rendering.active = True
        try:
            return generate_latest(registry)
        finally:
            self._rendering.active = False

    def render_own(self, around: bytes) -> bytes:
        """This collector's families put in place of the placeholder in ``around``.

        Safe in a thread: it reads the engine's dicts only through ``sorted()`` (one C
        call under the GIL), frozen Results and plain counters.
        """
        before, _, after = around.partition(_PLACEHOLDER_TEXT)
        # One family at a time, encoded as it is done: a scrape of 10,000 monitors is
        # 13 MB of text, and holding every line at once doubled what it cost in memory.
        chunks = [before]
        # The label text of each (monitor, location), made once per scrape.
        where: dict[tuple[str, ...], str] = {}
        for rows in self._per_monitor():
            name = rows.name
            lines = [f"# HELP {name} {_escape_help(rows.help)}\n# TYPE {name} gauge\n"]
            probe_labels = rows.labels[:2] == ("monitor", "location")
            order = sorted(range(len(rows.labels)), key=rows.labels.__getitem__)
            for values, value in rows.rows:
                if probe_labels:
                    ml = values[:2]
                    text = where.get(ml)
                    if text is None:
                        text = where[ml] = (
                            f'location="{_escape_label(ml[1])}",monitor="{_escape_label(ml[0])}"'
                        )
                    if len(values) == 3:
                        text = f'{text},phase="{_escape_label(values[2])}"'
                else:
                    text = ",".join(f'{rows.labels[i]}="{_escape_label(values[i])}"' for i in order)
                lines.append(f"{name}{{{text}}} {_go_float(value)}\n")
            chunks.append("".join(lines).encode())
        chunks.append(generate_latest(_Families(list(self._scalars()))))
        chunks.append(after)
        return b"".join(chunks)

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
