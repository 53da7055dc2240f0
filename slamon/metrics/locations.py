"""Metrics of locations and the MQTT bus, read from live objects at scrape time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sla_engine.time.states import State
from slamon.bus.wire import Reject

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Mapping

    from prometheus_client.metrics_core import Metric

    from slamon.bus.skew import ClockSkew
    from slamon.engine import Engine


class IngestCounters(Protocol):
    """What /metrics reads of the MQTT ingest (``MqttIngest``, or a cluster's shards)."""

    @property
    def skews(self) -> Mapping[str, ClockSkew]:
        """Each location's clock skew estimate."""
        ...

    @property
    def received(self) -> int:
        """Messages received."""
        ...

    @property
    def rejected(self) -> Counter[str]:
        """Messages rejected, by reason."""
        ...

    @property
    def results_received(self) -> int:
        """Results received."""
        ...

    @property
    def results_rejected(self) -> Counter[str]:
        """Results rejected inside accepted batches, by reason."""
        ...

    @property
    def paused(self) -> int:
        """Times reading stopped for the writer."""
        ...

    @property
    def internal_errors(self) -> int:
        """Messages whose ingestion failed on a bug."""
        ...

    @property
    def connected(self) -> bool:
        """Whether connected to the broker."""
        ...

    @property
    def unacked(self) -> int:
        """Messages received and not yet acknowledged."""
        ...

    @property
    def events_dropped(self) -> int:
        """State and event messages dropped."""
        ...

    def behind(self) -> float:
        """Seconds the latest results arrived late."""
        ...


_LOCATION_STATES = (State.UP, State.DEGRADED, State.DOWN, State.UNKNOWN)


class LocationCollector(Collector):
    """Per-location state of every monitor, and the MQTT ingest's counters."""

    def __init__(self, engine: Engine, ingest: IngestCounters | None = None) -> None:
        self.engine = engine
        self.ingest = ingest

    def collect(self) -> Iterable[Metric]:
        """Yield every metric family from current state."""
        state = GaugeMetricFamily(
            "slamon_location_state",
            "The confirmed state of each monitor at each location: 1 for the state it is in.",
            labels=["monitor", "location", "state"],
        )
        quorum = GaugeMetricFamily(
            "slamon_monitor_quorum",
            "How many locations must agree for the monitor's state.",
            labels=["monitor"],
        )
        for monitor in sorted(self.engine.locations):
            quorum.add_metric([monitor], self.engine.quorum(monitor))
            for view in self.engine.location_views(monitor):
                for s in _LOCATION_STATES:
                    state.add_metric(
                        [monitor, view.location, s.value], 1.0 if s is view.state else 0.0
                    )
        yield state
        yield quorum
        yield CounterMetricFamily(
            "slamon_results_out_of_order",
            "Results older than one already seen from their location (placed by their time).",
            value=self.engine.out_of_order,
        )
        yield CounterMetricFamily(
            "slamon_location_silences",
            "Times a location went silent and became unknown.",
            value=self.engine.silenced,
        )
        yield CounterMetricFamily(
            "slamon_results_too_late",
            "Results repeated, or older than what the engine keeps of their location "
            "(stored, no say in its history).",
            value=self.engine.too_late,
        )
        yield CounterMetricFamily(
            "slamon_intervals_revised",
            "Times late evidence changed a monitor's stored history (intervals replaced).",
            value=self.engine.revised,
        )
        ingest = self.ingest
        if ingest is None:
            return
        skew = GaugeMetricFamily(
            "slamon_location_clock_skew_seconds",
            "How far each agent's clock is behind the engine's (negative: ahead), estimated.",
            labels=["location"],
        )
        correction = GaugeMetricFamily(
            "slamon_location_clock_correction_seconds",
            "Seconds added to each agent's check times to put them on the engine's clock.",
            labels=["location"],
        )
        for location, clock in sorted(ingest.skews.items()):
            if clock.estimate is not None:
                skew.add_metric([location], clock.estimate)
            correction.add_metric([location], clock.correction)
        yield skew
        yield correction
        yield CounterMetricFamily(
            "slamon_bus_messages_received",
            "Messages received on the results topics.",
            value=ingest.received,
        )
        rejected = CounterMetricFamily(
            "slamon_bus_messages_rejected",
            "Messages on the results topics refused, by reason.",
            labels=["reason"],
        )
        for reason in Reject:
            rejected.add_metric([reason.value], ingest.rejected.get(reason, 0))
        yield rejected
        yield CounterMetricFamily(
            "slamon_bus_results_received",
            "Results in the messages accepted on the results topics (a batch holds many).",
            value=ingest.results_received,
        )
        results_rejected = CounterMetricFamily(
            "slamon_bus_results_rejected",
            "Results refused one by one inside an accepted batch, by reason.",
            labels=["reason"],
        )
        for reason in Reject:
            results_rejected.add_metric([reason.value], ingest.results_rejected.get(reason, 0))
        yield results_rejected
        yield CounterMetricFamily(
            "slamon_bus_read_pauses",
            "Times the engine stopped reading from the broker for the store to catch up.",
            value=ingest.paused,
        )
        yield CounterMetricFamily(
            "slamon_bus_ingest_errors",
            "Messages whose ingestion failed on a bug (acknowledged and logged).",
            value=ingest.internal_errors,
        )
        yield GaugeMetricFamily(
            "slamon_bus_connected",
            "Whether the engine is connected to the MQTT broker.",
            value=1.0 if ingest.connected else 0.0,
        )
        yield GaugeMetricFamily(
            "slamon_bus_ingest_lag_seconds",
            "How much later than their quickest recent transit results now arrive "
            "(time queued in the broker or the engine); the worst location.",
            value=ingest.behind(),
        )
        yield GaugeMetricFamily(
            "slamon_bus_unacked_messages",
            "Messages received and not yet acknowledged (waiting for the store).",
            value=ingest.unacked,
        )
        yield CounterMetricFamily(
            "slamon_bus_events_dropped",
            "State and event messages dropped: the broker away too long, or refusing them.",
            value=ingest.events_dropped,
        )
