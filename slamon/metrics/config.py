"""Config and discovery metrics, read from the runtime at scrape time.

Reloads under Prometheus' own names with slamon's prefix, and what each discovery
source found.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from slamon.runtime import Runtime


class ConfigCollector(Collector):
    """``slamon_config_*`` and ``slamon_discovery_*``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterable[Metric]:
        """Yield every family."""
        status = self.runtime.reload_status
        yield GaugeMetricFamily(
            "slamon_config_last_reload_successful",
            "Whether the last configuration reload succeeded (1) or not (0).",
            value=1.0 if status.successful else 0.0,
        )
        yield GaugeMetricFamily(
            "slamon_config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully, in unixtime.",
            value=status.success_at,
        )
        info = GaugeMetricFamily(
            "slamon_config_info",
            "The running configuration: hash is the SHA-256 of the config file's bytes.",
            labels=["hash"],
        )
        info.add_metric([status.hash], 1.0)
        yield info
        yield CounterMetricFamily(
            "slamon_config_reloads", "Configuration reloads tried.", value=status.reloads
        )
        yield CounterMetricFamily(
            "slamon_config_reload_failures",
            "Configuration reloads refused: the file was invalid.",
            value=status.failures,
        )
        catalog = self.runtime.catalog
        if catalog is None or not catalog.status:
            return
        labels = ["source"]
        monitors = GaugeMetricFamily(
            "slamon_discovery_monitors", "Monitors a discovery source provides.", labels=labels
        )
        files = GaugeMetricFamily(
            "slamon_discovery_files", "Files a discovery source reads.", labels=labels
        )
        bad = GaugeMetricFamily(
            "slamon_discovery_bad_files",
            "Files of a discovery source skipped for a problem (their last good monitors stay).",
            labels=labels,
        )
        errors = CounterMetricFamily(
            "slamon_discovery_read_errors",
            "Times a discovery file could not be read or used.",
            labels=labels,
        )
        for source, st in sorted(catalog.status.items()):
            monitors.add_metric([source], st.monitors)
            files.add_metric([source], st.files)
            bad.add_metric([source], st.bad_files)
            errors.add_metric([source], st.read_errors)
        yield from (monitors, files, bad, errors)
