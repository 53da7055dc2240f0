"""What a probe is given for one check: identity, timing, shared resources."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from probes.resources import ProbeResources
from probes.result import ErrorClass, Result
from sla_engine.time.states import State


@dataclass(slots=True)
class ProbeContext:
    """Who is checked, from where, since when, and the shared clients to do it with.

    The dispatcher makes one per check; probes build their Result through it so the
    identity and timing are filled in the same way everywhere.
    """

    monitor_id: str
    location: str
    timeout: float
    resources: ProbeResources
    started: float = field(default_factory=time.perf_counter)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def elapsed(self) -> float:
        """Seconds since the check began."""
        return time.perf_counter() - self.started

    def up(
        self, metrics: Mapping[str, float] | None = None, latency: float | None = None
    ) -> Result:
        """A successful check."""
        return self.result(State.UP, None, "", metrics, latency)

    def degraded(
        self,
        error: ErrorClass,
        detail: str,
        metrics: Mapping[str, float] | None = None,
        latency: float | None = None,
    ) -> Result:
        """The service answered, but too slowly or not quite right."""
        return self.result(State.DEGRADED, error, detail, metrics, latency)

    def down(
        self,
        error: ErrorClass,
        detail: str,
        metrics: Mapping[str, float] | None = None,
        latency: float | None = None,
    ) -> Result:
        """A failed check."""
        return self.result(State.DOWN, error, detail, metrics, latency)

    def result(
        self,
        state: State,
        error: ErrorClass | None,
        detail: str,
        metrics: Mapping[str, float] | None = None,
        latency: float | None = None,
    ) -> Result:
        """A Result for this check; latency defaults to the time since it began."""
        return Result(
            monitor_id=self.monitor_id,
            location=self.location,
            at=self.at,
            state=state,
            latency=self.elapsed() if latency is None else latency,
            error=error,
            detail=detail[:500],
            metrics=MappingProxyType(dict(metrics)) if metrics else MappingProxyType({}),
        )
