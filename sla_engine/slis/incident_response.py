"""Incident response SLI: were incidents acknowledged and resolved within the limits.

An incident resolved without an explicit acknowledgement counts as acknowledged when it
was resolved (resolving it was the response). A duration equal to its limit is within
it. An incident still waiting at ``now`` breaches once ``now - opened`` exceeds the
limit; before that it is pending, and pending incidents are left out of the SLI until
they are decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sla_engine.time.intervals import Interval


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class IncidentTimes:
    """When an incident was opened, acknowledged and resolved (None: not yet)."""

    id: str
    opened: datetime
    acknowledged: datetime | None = None
    resolved: datetime | None = None

    def __post_init__(self) -> None:
        _aware("opened", self.opened)
        _aware("acknowledged", self.acknowledged)
        _aware("resolved", self.resolved)
        for name, value in (("acknowledged", self.acknowledged), ("resolved", self.resolved)):
            if value is not None and value < self.opened:
                raise ValueError(f"incident {self.id}: {name} before it was opened")


@dataclass(frozen=True, slots=True)
class ResponseLimits:
    """The longest allowed time to acknowledge and to resolve an incident."""

    acknowledge: timedelta
    resolve: timedelta

    def __post_init__(self) -> None:
        if self.acknowledge <= timedelta(0) or self.resolve <= timedelta(0):
            raise ValueError("response limits must be positive")


@dataclass(frozen=True, slots=True)
class Deadline:
    """One response (acknowledge or resolve) measured against its limit at ``now``."""

    limit: timedelta
    took: timedelta | None
    waited: timedelta

    @property
    def breached(self) -> bool:
        """Done late, or not done and already past the limit."""
        return (self.took if self.took is not None else self.waited) > self.limit

    @property
    def pending(self) -> bool:
        """Not done yet and still within the limit: not decided."""
        return self.took is None and not self.breached

    @property
    def met(self) -> bool:
        """Done within the limit."""
        return self.took is not None and not self.breached


@dataclass(frozen=True, slots=True)
class IncidentResponse:
    """One incident's acknowledge and resolve deadlines at ``now``."""

    incident_id: str
    acknowledge: Deadline
    resolve: Deadline


def evaluate_incident(
    incident: IncidentTimes, limits: ResponseLimits, now: datetime
) -> IncidentResponse:
    """Measure ``incident`` against ``limits`` as known at ``now``."""
    _aware("now", now)
    waited = max(now - incident.opened, timedelta(0))
    acked = incident.acknowledged if incident.acknowledged is not None else incident.resolved
    return IncidentResponse(
        incident.id,
        Deadline(limits.acknowledge, None if acked is None else acked - incident.opened, waited),
        Deadline(
            limits.resolve,
            None if incident.resolved is None else incident.resolved - incident.opened,
            waited,
        ),
    )


def _share(met: int, decided: int) -> Fraction:
    return Fraction(met, decided) if decided else Fraction(1)


@dataclass(frozen=True, slots=True)
class IncidentResponseSLI:
    """Shares of decided incidents acknowledged and resolved in time (1 with none)."""

    period: Interval
    responses: tuple[IncidentResponse, ...]

    @property
    def acknowledged_in_time(self) -> int:
        """Incidents acknowledged within the limit."""
        return sum(r.acknowledge.met for r in self.responses)

    @property
    def acknowledge_decided(self) -> int:
        """Incidents whose acknowledgement is no longer pending."""
        return sum(not r.acknowledge.pending for r in self.responses)

    @property
    def resolved_in_time(self) -> int:
        """Incidents resolved within the limit."""
        return sum(r.resolve.met for r in self.responses)

    @property
    def resolve_decided(self) -> int:
        """Incidents whose resolution is no longer pending."""
        return sum(not r.resolve.pending for r in self.responses)

    @property
    def acknowledge_sli(self) -> Fraction:
        """Share of decided incidents acknowledged in time."""
        return _share(self.acknowledged_in_time, self.acknowledge_decided)

    @property
    def resolve_sli(self) -> Fraction:
        """Share of decided incidents resolved in time."""
        return _share(self.resolved_in_time, self.resolve_decided)

    @property
    def breaches(self) -> tuple[IncidentResponse, ...]:
        """Incidents with a late (or overdue) acknowledgement or resolution."""
        return tuple(r for r in self.responses if r.acknowledge.breached or r.resolve.breached)


def incident_response_sli(
    incidents: Iterable[IncidentTimes],
    limits: ResponseLimits,
    period: Interval,
    now: datetime,
) -> IncidentResponseSLI:
    """The incident response SLI over incidents opened within ``period``, at ``now``."""
    chosen = sorted(
        (i for i in incidents if period.start <= i.opened < period.end),
        key=lambda i: (i.opened, i.id),
    )
    return IncidentResponseSLI(period, tuple(evaluate_incident(i, limits, now) for i in chosen))
