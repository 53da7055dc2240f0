"""Building the status page snapshot from the store and the engine's live state."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sla_engine.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
    compute_availability,
    timeline_from_states,
)
from sla_engine.intervals import Interval
from sla_engine.states import StateInterval
from slamon.config import Config
from slamon.engine import Engine
from slamon.store.sql import Store
from statuspage.snapshot import MonitorView, PageSnapshot, Uptime

# The public page measures exact seconds, leaves maintenance out of the total, and
# does not count time without data either way (it reports it instead).
PAGE_TERMS = AccountingTerms(
    accounting=Accounting.SECONDS,
    unknown=UnknownPolicy.EXCLUDE,
    maintenance=MaintenancePolicy.EXCLUDE_FROM_TOTAL,
)
WINDOWS = (
    ("24 h", timedelta(hours=24)),
    ("30 days", timedelta(days=30)),
    ("90 days", timedelta(days=90)),
)


def uptime(label: str, intervals: list[StateInterval], window: Interval, now: datetime) -> Uptime:
    """Availability of one monitor over ``window`` as the page shows it."""
    timeline = timeline_from_states(intervals, window, now)
    result = compute_availability(timeline, window, PAGE_TERMS)
    percent: Decimal | None = result.percent if result.total > 0 else None
    return Uptime(
        label=label,
        percent=percent,
        downtime_seconds=int(result.downtime.total_seconds()),
        unknown_seconds=int(result.unknown.total_seconds()),
    )


async def build_snapshot(
    config: Config, engine: Engine, store: Store, now: datetime
) -> PageSnapshot:
    """The status page's data at ``now``: public monitors only."""
    public = [m for m in config.monitors if m.public]
    longest = max(length for _, length in WINDOWS)
    history = await store.intervals(Interval(now - longest, now), [m.id for m in public])
    views = []
    for m in public:
        intervals = history.get(m.id, [])
        views.append(
            MonitorView(
                id=m.id,
                name=m.display_name,
                description=m.description,
                state=engine.state(m.id),
                since=engine.state_since.get(m.id),
                uptimes=tuple(
                    uptime(label, intervals, Interval(now - length, now), now)
                    for label, length in WINDOWS
                ),
            )
        )
    return PageSnapshot(
        title=config.statuspage.title,
        description=config.statuspage.description,
        timezone=config.statuspage.timezone,
        generated_at=now,
        monitors=tuple(views),
    )
