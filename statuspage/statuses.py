"""slamon's states in Atlassian Statuspage's words, and the page's overall status.

A component that is down while some of its monitors still answer is a
``partial_outage``; down with none answering, a ``major_outage``. Statuspage has no
word for "no data": an unknown component is reported as ``degraded_performance``,
never as ``operational``, since time without data is never shown as up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sla_engine.incidents import Impact, MaintenanceStatus
from sla_engine.time.states import State
from statuspage.snapshot import ComponentView, PageSnapshot


class ComponentStatus(StrEnum):
    """Statuspage's component status values."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


class Indicator(StrEnum):
    """Statuspage's page status indicator (``maintenance`` while only maintenance runs)."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


_RANK = {
    Indicator.NONE: 0,
    Indicator.MAINTENANCE: 0,
    Indicator.MINOR: 1,
    Indicator.MAJOR: 2,
    Indicator.CRITICAL: 3,
}
_BY_STATUS = {
    ComponentStatus.OPERATIONAL: Indicator.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Indicator.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Indicator.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Indicator.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Indicator.CRITICAL,
}
_BY_IMPACT = {
    Impact.NONE: Indicator.NONE,
    Impact.MINOR: Indicator.MINOR,
    Impact.MAJOR: Indicator.MAJOR,
    Impact.CRITICAL: Indicator.CRITICAL,
}
# Statuspage's own descriptions of the page status (English in the JSON, always).
DESCRIPTIONS = {
    Indicator.NONE: "All Systems Operational",
    Indicator.MINOR: "Minor Service Outage",
    Indicator.MAJOR: "Partial System Outage",
    Indicator.CRITICAL: "Major System Outage",
}
MAINTENANCE_DESCRIPTION = "Service Under Maintenance"


def component_status(c: ComponentView) -> ComponentStatus:
    """The Statuspage status of a component."""
    if c.state is State.UP:
        return ComponentStatus.OPERATIONAL
    if c.state is State.MAINTENANCE:
        return ComponentStatus.UNDER_MAINTENANCE
    if c.state is State.DOWN:
        if c.members_down < c.members:
            return ComponentStatus.PARTIAL_OUTAGE
        return ComponentStatus.MAJOR_OUTAGE
    if c.state is State.DEGRADED and c.members_down > 0:
        return ComponentStatus.PARTIAL_OUTAGE
    return ComponentStatus.DEGRADED_PERFORMANCE  # degraded, or unknown (never operational)


def worse(a: Indicator, b: Indicator) -> Indicator:
    """The worse of two indicators."""
    return a if _RANK[a] >= _RANK[b] else b


@dataclass(frozen=True, slots=True)
class Overall:
    """The page's status: Statuspage's indicator and description, and the banner kind.

    ``banner`` is one of ``operational``, ``degraded``, ``partial``, ``major``,
    ``maintenance``, ``unknown``: a CSS class and an ``overall.*`` message key.
    """

    indicator: Indicator
    description: str
    banner: str


def overall(snapshot: PageSnapshot, now: datetime) -> Overall:
    """Worst of the components' statuses and of the open incidents' impact."""
    indicator = Indicator.NONE
    for c in snapshot.components:
        indicator = worse(indicator, _BY_STATUS[component_status(c)])
    for incident in snapshot.incidents:
        if incident.open:
            indicator = worse(indicator, _BY_IMPACT[incident.impact])
    in_maintenance = any(c.state is State.MAINTENANCE for c in snapshot.components) or any(
        m.status(now) is MaintenanceStatus.IN_PROGRESS for m in snapshot.maintenance
    )
    unknown = any(c.state is State.UNKNOWN for c in snapshot.components)
    degraded = any(c.state is State.DEGRADED for c in snapshot.components)
    if indicator is Indicator.CRITICAL:
        banner = "major"
    elif indicator is Indicator.MAJOR:
        banner = "partial"
    elif indicator is Indicator.MINOR and (degraded or not unknown):
        banner = "degraded"
    elif unknown:
        banner = "unknown"
    elif in_maintenance:
        banner = "maintenance"
    else:
        banner = "operational"
    description = DESCRIPTIONS[indicator]
    if indicator is Indicator.NONE and in_maintenance:
        # Statuspage's own indicator while nothing is worse than maintenance.
        indicator, description = Indicator.MAINTENANCE, MAINTENANCE_DESCRIPTION
    return Overall(indicator, description, banner)
