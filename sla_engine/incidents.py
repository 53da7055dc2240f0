"""Incidents and maintenance windows as plain values, shared by engine, store and page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.time.intervals import Interval


class IncidentStatus(StrEnum):
    """The status values of Atlassian Statuspage's incident updates."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"

    @property
    def open(self) -> bool:
        """True until the incident is resolved."""
        return self not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM)


class Impact(StrEnum):
    """How bad an incident is, in Statuspage's words."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """One entry of an incident's timeline."""

    at: datetime
    status: IncidentStatus
    message: str
    author: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("IncidentUpdate.at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Incident:
    """A span in which components were not up, with its timeline and SLA marks.

    ``opened`` is when the outage began (the state interval's start), ``acknowledged``
    when a person first responded, ``resolved`` when it ended. An excluded incident
    carries its kind, a mandatory reason and who marked it.
    """

    id: str
    title: str
    component_ids: tuple[str, ...]
    impact: Impact
    status: IncidentStatus
    opened: datetime
    acknowledged: datetime | None = None
    resolved: datetime | None = None
    updates: tuple[IncidentUpdate, ...] = ()
    automatic: bool = True
    excluded: ExclusionKind | None = None
    exclusion_reason: str = ""
    excluded_by: str = ""

    def __post_init__(self) -> None:
        if self.opened.tzinfo is None:
            raise ValueError("Incident.opened must be timezone-aware")
        if self.resolved is not None and self.resolved < self.opened:
            raise ValueError("an incident cannot be resolved before it opened")
        if self.excluded is not None and not self.exclusion_reason.strip():
            raise ValueError("an excluded incident needs a reason")

    def span(self, now: datetime) -> Interval:
        """``[opened, resolved)``, an open incident cut at ``now``."""
        end = self.resolved if self.resolved is not None else max(now, self.opened)
        return Interval(self.opened, end)


class MaintenanceStatus(StrEnum):
    """Statuspage's scheduled-maintenance status values."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """One occurrence of a scheduled maintenance, ``[start, end)``."""

    id: str
    title: str
    description: str
    component_ids: tuple[str, ...]
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("maintenance bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("maintenance must end after it starts")

    @property
    def interval(self) -> Interval:
        """The window as an Interval."""
        return Interval(self.start, self.end)

    def status(self, now: datetime) -> MaintenanceStatus:
        """Scheduled, in progress or completed at ``now``."""
        if now < self.start:
            return MaintenanceStatus.SCHEDULED
        if now < self.end:
            return MaintenanceStatus.IN_PROGRESS
        return MaintenanceStatus.COMPLETED
