"""Building the status page snapshot from the store and the engine's live state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import partial
from zoneinfo import ZoneInfo

from sla_engine.availability import timeline_from_states
from sla_engine.components import combine_intervals, component_state
from sla_engine.daily import DayTotals, daily_totals
from sla_engine.incidents import Incident, MaintenanceWindow
from sla_engine.intervals import Interval
from sla_engine.periods import local_days, local_midnight
from sla_engine.sketch import LatencySketch
from sla_engine.states import State, StateInterval
from slamon.config import ComponentConfig, Config
from slamon.engine import Engine
from slamon.store.sql import Rollup, Store, hour_of
from statuspage.snapshot import (
    ComponentView,
    DayStat,
    IncidentView,
    LatencyPoint,
    MaintenanceView,
    PageSnapshot,
)

HISTORY_DAYS = 90  # the bar: one per local day, today included
UPTIME_DAYS = 30  # the uptime badge
CHART_HOURS = 7 * 24  # the response-time chart
RESPONSE_HOURS = 24  # the response-time badge: median over the last day
_US = timedelta(microseconds=1)


def _percent(ratio: Fraction | None) -> Decimal | None:
    if ratio is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 30
        return Decimal(ratio.numerator) * 100 / Decimal(ratio.denominator)


def _sum_ratio(days: Sequence[DayTotals]) -> Fraction | None:
    counted = sum((d.counted for d in days), timedelta())
    if counted <= timedelta():
        return None
    down = sum((d.down for d in days), timedelta())
    return 1 - Fraction(down // _US, counted // _US)


def _day_stat(d: DayTotals) -> DayStat:
    return DayStat(
        day=d.day,
        percent=_percent(d.ratio),
        down_seconds=round(d.down.total_seconds()),
        degraded_seconds=round(d.degraded.total_seconds()),
        maintenance_seconds=round(d.maintenance.total_seconds()),
        unknown_seconds=round(d.unknown.total_seconds()),
    )


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def latency_series(
    rollups: Sequence[Rollup], first_hour: datetime, hours: int
) -> tuple[tuple[LatencyPoint, ...], LatencySketch]:
    """Hourly median and p95 of the merged sketches, and the merge of the last day's."""
    by_hour: dict[datetime, LatencySketch] = {}
    for r in rollups:
        acc = by_hour.get(r.hour)
        by_hour[r.hour] = r.sketch if acc is None else LatencySketch.merged((acc, r.sketch))
    points = []
    recent = LatencySketch()
    for k in range(hours):
        hour = first_hour + timedelta(hours=k)
        sketch = by_hour.get(hour)
        if sketch is None or sketch.count == 0:
            points.append(LatencyPoint(hour, None, None))
            continue
        if k >= hours - RESPONSE_HOURS:
            recent.merge(sketch)
        points.append(LatencyPoint(hour, _ms(sketch.quantile(0.5)), _ms(sketch.quantile(0.95))))
    return tuple(points), recent


def live_states_from_store(
    history: Mapping[str, Sequence[StateInterval]], monitor_ids: Sequence[str]
) -> dict[str, State]:
    """A monitor's state as the store last wrote it: its open interval, else unknown."""
    out = {}
    for m in monitor_ids:
        intervals = history.get(m, ())
        last = intervals[-1] if intervals else None
        out[m] = last.state if last is not None and last.end is None else State.UNKNOWN
    return out


def component_view(
    component: ComponentConfig,
    *,
    history: Mapping[str, Sequence[StateInterval]],
    live: Mapping[str, State],
    days: Sequence[tuple[object, Interval]],
    window: Interval,
    now: datetime,
    maintenance: Sequence[MaintenanceWindow],
    rollups: Sequence[Rollup],
    first_hour: datetime,
) -> ComponentView:
    """One component's view: live state, daily history, uptimes, response times."""
    combine = partial(component_state, quorum=component.quorum)
    members = {m: history.get(m, []) for m in component.monitors}
    combined = combine_intervals(component.id, members, window, combine)
    own_maintenance = [w.interval for w in maintenance if component.id in w.component_ids]
    timeline = timeline_from_states(combined, window, now, maintenance=own_maintenance)
    totals = daily_totals(timeline, days)  # type: ignore[arg-type]
    states = [live.get(m, State.UNKNOWN) for m in component.monitors]
    state = combine(states)
    since = None
    if combined and combined[-1].state is state and combined[-1].end == window.end:
        since = combined[-1].start
    first_seen = min((iv[0].start for iv in members.values() if iv), default=None)
    points, recent = latency_series(rollups, first_hour, CHART_HOURS)
    return ComponentView(
        id=component.id,
        name=component.name,
        description=component.description,
        group=component.group,
        state=state,
        since=since,
        days=tuple(_day_stat(d) for d in totals),
        uptime_90=_percent(_sum_ratio(totals)),
        uptime_30=_percent(_sum_ratio(totals[-UPTIME_DAYS:])),
        latency=points,
        response_ms=_ms(recent.quantile(0.5)),
        members=len(states),
        members_down=sum(s is State.DOWN for s in states),
        first_seen=max(first_seen, window.start) if first_seen else None,
    )


async def build_snapshot(
    config: Config,
    engine: Engine | None,
    store: Store,
    now: datetime,
    *,
    incidents: Sequence[Incident] = (),
    maintenance: Sequence[MaintenanceWindow] = (),
) -> PageSnapshot:
    """The status page's data at ``now``: public components only.

    Without an ``engine`` (``slamon statuspage build``), the current state of each
    monitor is what the store last recorded: its open interval, or unknown.
    """
    sp = config.statuspage
    tz = ZoneInfo(sp.timezone)
    components = config.effective_components()
    monitor_ids = sorted({m for c in components for m in c.monitors})
    today = now.astimezone(tz).date()
    window = Interval(local_midnight(today - timedelta(days=HISTORY_DAYS - 1), tz), now)
    days = local_days(window, sp.timezone)
    history = await store.intervals(window, monitor_ids)
    first_hour = hour_of(now) - timedelta(hours=CHART_HOURS - 1)
    rollups = await store.rollups(Interval(first_hour, now + timedelta(hours=1)), monitor_ids)
    by_monitor: dict[str, list[Rollup]] = defaultdict(list)
    for r in rollups:
        by_monitor[r.monitor_id].append(r)
    if engine is not None:
        live = {m: engine.state(m) for m in monitor_ids}
    else:
        live = live_states_from_store(history, monitor_ids)
    views = [
        component_view(
            c,
            history=history,
            live=live,
            days=days,
            window=window,
            now=now,
            maintenance=maintenance,
            rollups=[r for m in c.monitors for r in by_monitor.get(m, ())],
            first_hour=first_hour,
        )
        for c in components
    ]
    public = {c.id for c in components}
    return PageSnapshot(
        title=sp.title,
        description=sp.description,
        timezone=sp.timezone,
        language=sp.language,
        url=sp.url,
        generated_at=now,
        components=tuple(views),
        incidents=tuple(
            _public_incident(i, public) for i in incidents if set(i.component_ids) & public
        ),
        maintenance=tuple(
            _public_maintenance(m, public) for m in maintenance if set(m.component_ids) & public
        ),
    )


def _public_incident(incident: Incident, public: set[str]) -> IncidentView:
    view = IncidentView.of(incident)
    return replace(view, component_ids=tuple(c for c in view.component_ids if c in public))


def _public_maintenance(window: MaintenanceWindow, public: set[str]) -> MaintenanceView:
    view = MaintenanceView.of(window)
    ids = tuple(c for c in view.component_ids if c in public)
    return replace(view, component_ids=ids)
