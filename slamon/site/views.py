"""Building the status page snapshot from the store and the engine's live state."""

from __future__ import annotations

import asyncio
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sla_engine.accounting.availability import timeline_from_states
from sla_engine.accounting.components import combine_intervals, component_state
from sla_engine.accounting.daily import DayGrid, DayTotals, daily_totals, daily_totals_of_states
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import local_days, local_midnight
from sla_engine.time.states import State, StateInterval
from slamon.store.sql import Store, hour_of
from statuspage.snapshot import (
    ComponentView,
    DayStat,
    IncidentView,
    LatencyPoint,
    MaintenanceView,
    PageSnapshot,
)

if TYPE_CHECKING:
    from sla_engine.incidents import Incident, MaintenanceWindow
    from slamon.config.components import ComponentConfig
    from slamon.config.model import Config
    from slamon.engine import Engine

HISTORY_DAYS = 90  # the bar: one per local day, today included
UPTIME_DAYS = 30  # the uptime badge
CHART_HOURS = 7 * 24  # the response-time chart: the mean of each hour
RESPONSE_HOURS = 24  # the response-time badge: the mean over the last day
_US = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)
_SECOND = timedelta(seconds=1)
_FAR = datetime.max.replace(tzinfo=UTC)


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


_HUNDRED = Decimal(100)


def _day_stat(d: DayTotals) -> DayStat:
    # Most days have no downtime: skip the exact division for them.
    percent = _HUNDRED if not d.down and d.counted > timedelta() else _percent(d.ratio)
    return DayStat(
        day=d.day,
        percent=percent,
        down_seconds=d.down // _SECOND,
        degraded_seconds=d.degraded // _SECOND,
        maintenance_seconds=d.maintenance // _SECOND,
        unknown_seconds=d.unknown // _SECOND,
    )


def latency_series(
    means: Sequence[tuple[str, datetime, int, float]],
    first_hour: datetime,
    hours: int,
    *,
    starts: Sequence[datetime] | None = None,
    index: Mapping[datetime, int] | None = None,
    previous: tuple[list[int], list[float], tuple[LatencyPoint, ...]] | None = None,
) -> tuple[tuple[LatencyPoint, ...], float | None, list[int], list[float]]:
    """Hourly means of a component's monitors together, and the mean of the last day.

    Also the answered checks and latency sums of each hour they were made from.
    ``starts``: the ``hours`` instants from ``first_hour`` on, and ``index`` the
    position of each, if the caller made them once for every component.
    ``previous``: the counts, sums and points of the last build with the same
    ``starts``; its points are kept where nothing before the last hour changed.
    """
    counts = [0] * hours
    sums = [0.0] * hours
    for _, hour, n, total in means:
        k = index.get(hour) if index is not None else None
        if k is None:
            k = (hour - first_hour) // _HOUR
        if 0 <= k < hours:
            counts[k] += n
            sums[k] += total
    if starts is None:
        starts = [first_hour + k * _HOUR for k in range(hours)]
    if (
        previous is not None
        and hours > 0
        and len(previous[2]) == hours
        and previous[0][:-1] == counts[:-1]
        and previous[1][:-1] == sums[:-1]
    ):
        n, total = counts[-1], sums[-1]
        last = LatencyPoint(starts[-1], total / n * 1000 if n > 0 else None)
        points = (*previous[2][:-1], last)
    else:
        points = tuple(
            LatencyPoint(at, total / n * 1000 if n > 0 else None)
            for at, total, n in zip(starts, sums, counts, strict=True)
        )
    day_n = sum(counts[-RESPONSE_HOURS:])
    mean = sum(sums[-RESPONSE_HOURS:]) / day_n * 1000 if day_n > 0 else None
    return points, mean, counts, sums


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


def _overlapping(spans: Sequence[StateInterval], window: Interval) -> tuple[StateInterval, ...]:
    """The intervals (one monitor's: sorted by start, disjoint) that overlap ``window``."""
    lo = bisect_right(spans, window.start, key=lambda si: si.end or _FAR)
    hi = bisect_left(spans, window.end, lo=lo, key=lambda si: si.start)
    return tuple(spans[lo:hi])


def _days(
    component_id: str,
    members: Mapping[str, Sequence[StateInterval]],
    window: Interval,
    grid: DayGrid,
    *,
    now: datetime | None,
    combine: Callable[[Sequence[State]], State],
    own_maintenance: Sequence[Interval],
) -> tuple[list[DayTotals], list[StateInterval]]:
    """The days of ``grid`` over ``window`` and the combined intervals they came from."""
    combined = combine_intervals(component_id, members, window, combine)
    if own_maintenance:
        timeline = timeline_from_states(combined, window, now, maintenance=own_maintenance)
        return daily_totals(timeline, grid.days), combined
    return daily_totals_of_states(combined, grid), combined


class ViewCache:
    """Each component's days before today, kept between builds and keyed by their inputs.

    Only today (and the live state) is computed again while a component's history
    before today is unchanged: that is what time passing alone changes. The days
    before today do not depend on ``now`` (each is measured in full) and the combined
    state is a function of the members' states at each instant, so the days split at
    today's midnight add up to the days computed in one go (the tests hold the two
    together).
    """

    def __init__(self) -> None:
        self._past: dict[
            str, tuple[object, list[DayTotals], tuple[DayStat, ...], StateInterval | None]
        ] = {}
        self._used: set[str] = set()
        self.computed = 0  # past days computed (not taken from the cache)
        # By component: the chart's first hour, and the counts, sums and points of each hour.
        self._latency: dict[
            str, tuple[datetime, tuple[list[int], list[float], tuple[LatencyPoint, ...]]]
        ] = {}

    def latency(
        self, component_id: str, first_hour: datetime
    ) -> tuple[list[int], list[float], tuple[LatencyPoint, ...]] | None:
        """The hours of the last build's chart if it started at ``first_hour``."""
        kept = self._latency.get(component_id)
        return kept[1] if kept is not None and kept[0] == first_hour else None

    def keep_latency(
        self,
        component_id: str,
        first_hour: datetime,
        hours: tuple[list[int], list[float], tuple[LatencyPoint, ...]],
    ) -> None:
        """Keep a component's chart hours for the next build."""
        self._used.add(component_id)
        self._latency[component_id] = (first_hour, hours)

    def past(
        self,
        component: ComponentConfig,
        members: Mapping[str, Sequence[StateInterval]],
        window: Interval,
        grid: DayGrid,
        *,
        combine: Callable[[Sequence[State]], State],
        own_maintenance: Sequence[Interval],
    ) -> tuple[list[DayTotals], tuple[DayStat, ...], StateInterval | None]:
        """The days of ``grid`` (all before ``window.end``): totals, as shown, and the end.

        The end is the last combined interval (``since`` may reach back into it).
        """
        clipped = {m: _overlapping(ivs, window) for m, ivs in members.items()}
        own = tuple(iv for iv in own_maintenance if iv.overlaps(window))
        key = (component.quorum, tuple(clipped.items()), own, window, grid.days)
        self._used.add(component.id)
        cached = self._past.get(component.id)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2], cached[3]
        totals, combined = _days(
            component.id, clipped, window, grid, now=None, combine=combine, own_maintenance=own
        )
        last = combined[-1] if combined else None
        stats = tuple(_day_stat(d) for d in totals)
        self._past[component.id] = (key, totals, stats, last)
        self.computed += 1
        return totals, stats, last

    def sweep(self) -> None:
        """Forget the components the last snapshot did not ask for."""
        for gone in self._past.keys() - self._used:
            del self._past[gone]
        for gone in self._latency.keys() - self._used:
            del self._latency[gone]
        self._used = set()


def component_view(
    component: ComponentConfig,
    *,
    history: Mapping[str, Sequence[StateInterval]],
    live: Mapping[str, State],
    grid: DayGrid,
    window: Interval,
    now: datetime,
    maintenance: Sequence[MaintenanceWindow],
    unconfirmed: frozenset[str] = frozenset(),
    cache: ViewCache | None = None,
) -> ComponentView:
    """One component's view: live state, daily history, uptimes (response times later)."""
    combine = partial(component_state, quorum=component.quorum)
    members = {m: history.get(m, []) for m in component.monitors}
    own_maintenance = [w.interval for w in maintenance if component.id in w.component_ids]
    states = [live.get(m, State.UNKNOWN) for m in component.monitors]
    state = combine(states)
    since = None
    midnight = grid.days[-1][1].start if grid.days else window.end
    if cache is not None and window.start < midnight < window.end:
        past_grid = DayGrid(grid.days[:-1], midnight, grid.measured[:-1])
        before, shown, last_before = cache.past(
            component,
            members,
            Interval(window.start, midnight),
            past_grid,
            combine=combine,
            own_maintenance=own_maintenance,
        )
        today = Interval(midnight, window.end)
        today_grid = DayGrid(grid.days[-1:], grid.until, grid.measured[-1:])
        clipped = {m: _overlapping(ivs, today) for m, ivs in members.items()}
        own = [iv for iv in own_maintenance if iv.overlaps(today)]
        latest, combined = _days(
            component.id, clipped, today, today_grid, now=now, combine=combine, own_maintenance=own
        )
        totals = [*before, *latest]
        days = (*shown, *(_day_stat(d) for d in latest))
        if combined and combined[-1].state is state and combined[-1].end == window.end:
            since = combined[-1].start
            if (
                since == midnight
                and last_before is not None
                and last_before.state is state
                and last_before.end == midnight
            ):
                since = last_before.start
    else:
        totals, combined = _days(
            component.id,
            members,
            window,
            grid,
            now=now,
            combine=combine,
            own_maintenance=own_maintenance,
        )
        if combined and combined[-1].state is state and combined[-1].end == window.end:
            since = combined[-1].start
        days = tuple(_day_stat(d) for d in totals)
    first_seen = min((iv[0].start for iv in members.values() if iv), default=None)
    return ComponentView(
        id=component.id,
        name=component.name,
        description=component.description,
        group=component.group,
        state=state,
        since=since,
        days=days,
        uptime_90=_percent(_sum_ratio(totals)),
        uptime_30=_percent(_sum_ratio(totals[-UPTIME_DAYS:])),
        members=len(states),
        members_down=sum(s is State.DOWN for s in states),
        first_seen=max(first_seen, window.start) if first_seen else None,
        last_known=any(m in unconfirmed for m in component.monitors),
    )


@dataclass(frozen=True)
class SnapshotInputs:
    """What the status page is computed from: read from the store and the engine.

    Plain values (picklable), so that the computing and rendering can run in another
    process (``slamon.site.worker``).
    """

    config: Config
    now: datetime
    live: Mapping[str, State]
    history: Mapping[str, Sequence[StateInterval]]
    means: Sequence[tuple[str, datetime, int, float]]
    incidents: Sequence[Incident]
    maintenance: Sequence[MaintenanceWindow]
    # Monitors whose live state is the last known one (before a restart), unconfirmed.
    unconfirmed: frozenset[str] = frozenset()


async def read_snapshot_inputs(
    config: Config,
    engine: Engine | None,
    store: Store,
    now: datetime,
    *,
    incidents: Sequence[Incident] = (),
    maintenance: Sequence[MaintenanceWindow] = (),
) -> SnapshotInputs:
    """Read what the page at ``now`` needs (the I/O half of ``build_snapshot``).

    Without an ``engine`` (``slamon statuspage build``), the current state of each
    monitor is what the store last recorded: its open interval, or unknown.
    """
    components = config.effective_components()
    monitor_ids = sorted({m for c in components for m in c.monitors})
    window, _grid, first_hour = _windows(config, now)
    # The response times are read (on a second connection) while the days are read.
    means_read = asyncio.create_task(
        store.latency_means(Interval(first_hour, now + timedelta(hours=1)), monitor_ids)
    )
    try:
        history = await store.intervals(window, monitor_ids)
    except BaseException:
        means_read.cancel()
        raise
    unconfirmed: set[str] = set()
    if engine is not None:
        live = {}
        for m in monitor_ids:
            known = engine.last_known(m)
            if known is not None:
                unconfirmed.add(m)
            live[m] = known or engine.state(m)
    else:
        live = live_states_from_store(history, monitor_ids)
    means = [tuple(row) for row in await means_read]
    return SnapshotInputs(
        config,
        now,
        live,
        history,
        means,  # type: ignore[arg-type]
        tuple(incidents),
        tuple(maintenance),
        frozenset(unconfirmed),
    )


def _windows(config: Config, now: datetime) -> tuple[Interval, DayGrid, datetime]:
    sp = config.statuspage
    tz = ZoneInfo(sp.timezone)
    today = now.astimezone(tz).date()
    window = Interval(local_midnight(today - timedelta(days=HISTORY_DAYS - 1), tz), now)
    grid = DayGrid.of(local_days(window, sp.timezone), now)
    first_hour = hour_of(now) - timedelta(hours=CHART_HOURS - 1)
    return window, grid, first_hour


def snapshot_from(inputs: SnapshotInputs, cache: ViewCache | None = None) -> PageSnapshot:
    """The status page's data (the pure half of ``build_snapshot``): public components.

    With ``cache`` (kept from the previous build) only what changed is computed again.
    """
    config, now, live, history = inputs.config, inputs.now, inputs.live, inputs.history
    sp = config.statuspage
    components = config.effective_components()
    window, grid, first_hour = _windows(config, now)
    views = [
        component_view(
            c,
            history=history,
            live=live,
            grid=grid,
            window=window,
            now=now,
            maintenance=inputs.maintenance,
            unconfirmed=inputs.unconfirmed,
            cache=cache,
        )
        for c in components
    ]
    by_monitor: dict[str, list[tuple[str, datetime, int, float]]] = defaultdict(list)
    for row in inputs.means:
        by_monitor[row[0]].append(row)
    starts = [first_hour + k * _HOUR for k in range(CHART_HOURS)]
    index = {at: k for k, at in enumerate(starts)}
    for k, c in enumerate(components):
        previous = cache.latency(c.id, first_hour) if cache is not None else None
        points, response_ms, counts, sums = latency_series(
            [r for m in c.monitors for r in by_monitor.get(m, ())],
            first_hour,
            CHART_HOURS,
            starts=starts,
            index=index,
            previous=previous,
        )
        if cache is not None:
            cache.keep_latency(c.id, first_hour, (counts, sums, points))
        views[k] = replace(views[k], latency=points, response_ms=response_ms)
    if cache is not None:
        cache.sweep()
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
            _public_incident(i, public) for i in inputs.incidents if set(i.component_ids) & public
        ),
        maintenance=tuple(
            _public_maintenance(m, public)
            for m in inputs.maintenance
            if set(m.component_ids) & public
        ),
        subscribe=config.subscriptions.enabled,
        subscribe_webhooks=config.subscriptions.enabled and config.subscriptions.webhooks,
        confirm_hours=int(config.subscriptions.confirm_within // 3600),
    )


async def build_snapshot(
    config: Config,
    engine: Engine | None,
    store: Store,
    now: datetime,
    *,
    incidents: Sequence[Incident] = (),
    maintenance: Sequence[MaintenanceWindow] = (),
    cache: ViewCache | None = None,
) -> PageSnapshot:
    """The status page's data at ``now``: public components only.

    Without an ``engine`` (``slamon statuspage build``), the current state of each
    monitor is what the store last recorded: its open interval, or unknown. The
    computing runs in a thread: a site of a thousand components takes the better
    part of a second, which would stall the event loop.
    """
    inputs = await read_snapshot_inputs(
        config, engine, store, now, incidents=incidents, maintenance=maintenance
    )
    return await asyncio.to_thread(snapshot_from, inputs, cache)


def _public_incident(incident: Incident, public: set[str]) -> IncidentView:
    view = IncidentView.of(incident)
    return replace(view, component_ids=tuple(c for c in view.component_ids if c in public))


def _public_maintenance(window: MaintenanceWindow, public: set[str]) -> MaintenanceView:
    view = MaintenanceView.of(window)
    ids = tuple(c for c in view.component_ids if c in public)
    return replace(view, component_ids=ids)
