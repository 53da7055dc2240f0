"""The store: every query slamon makes, on SQLite or PostgreSQL through one code path."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import NullType

from probes.result import QUALITY_ERRORS, ErrorClass, Result
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.states import State, StateInterval
from slamon.store import dialects
from slamon.store.packing import pack_day, unpack_day, unpack_day_counts
from slamon.store.schema import (
    Instant,
    as_instant,
    results,
    rollup_days,
    rollups,
    state_intervals,
)

if TYPE_CHECKING:
    from sla_engine.time.intervals import Interval

log = logging.getLogger("slamon.store")

_RESULT_COLUMNS = ("id", "monitor_id", "location", "at", "state", "latency", "error", "detail")
_ROLLUP_COLUMNS = (
    "monitor_id",
    "location",
    "hour",
    "checks",
    "down",
    "degraded",
    "latency_sum",
    "sketch",
    "unanswered",
    "assertion_failed",
)
_DOWN = State.DOWN
_DEGRADED = State.DEGRADED
# Above this many ids a query reads the whole window and filters in Python.
_IN_LIMIT = 500
_by_start = attrgetter("start")


def hour_of(at: datetime) -> datetime:
    """The UTC hour that contains ``at``."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(slots=True)
class Rollup:
    """Counts and a latency sketch for one monitor and location over one UTC hour."""

    monitor_id: str
    location: str
    hour: datetime
    checks: int = 0
    down: int = 0
    degraded: int = 0
    latency_sum: float = 0.0
    sketch: LatencySketch = field(default_factory=LatencySketch)
    unanswered: int = 0
    assertion_failed: int = 0

    @property
    def key(self) -> tuple[str, str, datetime]:
        """The primary key."""
        return (self.monitor_id, self.location, self.hour)

    def add(self, result: Result) -> None:
        """Count one result."""
        self.checks += 1
        if result.state is State.DOWN:
            self.down += 1
        elif result.state is State.DEGRADED:
            self.degraded += 1
        if not result.answered:
            self.unanswered += 1
        elif result.quality_failed:
            self.assertion_failed += 1
        if result.ok:
            # Latency of failed checks is the time to fail (often the timeout):
            # it would poison response-time charts and latency SLIs.
            self.latency_sum += result.latency
            self.sketch.add(result.latency)

    def add_all(self, items: Sequence[Result]) -> None:
        """Count ``items``, as ``add`` each, in one pass (the writer's hot loop)."""
        down = degraded = unanswered = failed = 0
        latency_sum = self.latency_sum  # in order, as ``add`` sums (the same float)
        latencies: list[float] = []
        for r in items:
            state = r.state
            if state is _DOWN:
                down += 1
                if r.error in QUALITY_ERRORS:
                    failed += 1
                else:
                    unanswered += 1
                continue
            if state is _DEGRADED:
                degraded += 1
            if r.error is not None and r.error in QUALITY_ERRORS:
                failed += 1
            latency_sum += r.latency
            latencies.append(r.latency)
        self.checks += len(items)
        self.down += down
        self.degraded += degraded
        self.unanswered += unanswered
        self.assertion_failed += failed
        self.latency_sum = latency_sum
        if latencies:
            self.sketch.add_all(latencies)


class Fenced(Exception):
    """A write of shards whose lease this engine no longer holds at its epoch: rolled back."""

    def __init__(self, names: Collection[str]) -> None:
        super().__init__(f"fenced: {', '.join(sorted(names))} no longer held at our epoch")
        self.names = frozenset(names)


_FENCE = text("SELECT name, owner, epoch FROM leases WHERE name = ANY(:names) FOR SHARE")


@dataclass(frozen=True, slots=True)
class IntervalChange:
    """Close a monitor's open interval at ``at`` and open one in ``state`` (unless unknown)."""

    monitor_id: str
    state: State
    at: datetime


@dataclass(frozen=True, slots=True)
class IntervalRevision:
    """Replace a monitor's intervals from ``since`` on: late evidence changed its history.

    ``points`` are (time, state) from ``since`` on, in time order: each holds until the
    next, the last stays open; unknown stretches have no interval.
    """

    monitor_id: str
    since: datetime
    points: tuple[tuple[datetime, State], ...]

    def spans(self) -> list[tuple[State, datetime, datetime | None]]:
        """The points as (state, start, end), end None for the last."""
        ends: list[datetime | None] = [t for t, _ in self.points[1:]]
        ends.append(None)
        return [(s, t, end) for (t, s), end in zip(self.points, ends, strict=True)]


@dataclass(frozen=True, slots=True)
class LocationCheckpoint:
    """Where one location of a monitor stood: its confirmed state and the run under way.

    The engine writes one per location every few seconds and at a stop, and resumes
    from them at start (``slamon.store.engine_state``). ``silenced`` says that it had
    declared the location silent (provisionally unknown after its last check).
    """

    monitor_id: str
    location: str
    confirmed: State
    since: datetime | None
    run_state: State | None
    run_length: int
    run_start: datetime | None
    last_at: datetime | None
    silenced: bool


_CHECKPOINT_COLUMNS = (
    "monitor_id",
    "location",
    "confirmed",
    "since",
    "run_state",
    "run_length",
    "run_start",
    "last_at",
    "silenced",
)


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A raw result as read back from the store."""

    id: str
    monitor_id: str
    location: str
    at: datetime
    state: State
    latency: float
    error: ErrorClass | None
    detail: str


class Store:
    """All reads and writes; the Writer is the only caller of ``write_batch``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def from_url(cls, url: str) -> Store:
        """A store on a new engine for ``url``."""
        return cls(dialects.create_engine(url))

    async def close(self) -> None:
        """Dispose of the connection pool."""
        await self.engine.dispose()

    # -- writes -------------------------------------------------------------------

    async def write_batch(
        self,
        new_results: Sequence[Result],
        changes: Sequence[IntervalChange | IntervalRevision],
        cached: dict[tuple[str, str, datetime], Rollup],
        checkpoints: Sequence[LocationCheckpoint] = (),
        fences: dict[str, tuple[str, int]] | None = None,
    ) -> tuple[int, dict[tuple[str, str, datetime], Rollup]]:
        """Store results, interval changes, rollups and checkpoints in one transaction.

        Results whose id is already stored are skipped, so a redelivered result is
        counted once; only the inserted ones update the rollups. ``cached`` holds the
        current rollups the caller knows, and they are updated in place: if this
        raises, the caller must forget them (the store has the committed ones). The
        rollups written are returned.

        With ``fences`` (lease name: (owner, epoch), PostgreSQL), the leases are read
        ``FOR SHARE`` first in the same transaction; if any is no longer held by that
        owner at that epoch, nothing is written and ``Fenced`` names them. The share lock
        makes a taker wait until this transaction ends, so a write is never interleaved
        with a takeover.
        """
        async with self.engine.begin() as conn:
            if fences:
                rows = await conn.execute(_FENCE, {"names": list(fences)})
                held = {name: (owner, int(epoch)) for name, owner, epoch in rows}
                lost = [name for name, mine in fences.items() if held.get(name) != mine]
                if lost:
                    raise Fenced(lost)
            inserted = await self._insert_results(conn, new_results) if new_results else []
            updated = await self._update_rollups(conn, inserted, cached)
            if changes:
                await self._apply_changes(conn, changes)
            if checkpoints:
                await self._write_checkpoints(conn, checkpoints)
        return len(inserted), updated

    async def _write_checkpoints(
        self, conn: AsyncConnection, rows: Sequence[LocationCheckpoint]
    ) -> None:
        at = dialects.instant(self.dialect)

        def instant(value: datetime | None) -> object:
            return None if value is None else at(value)

        await dialects.upsert_rows(
            conn,
            self.dialect,
            "location_states",
            _CHECKPOINT_COLUMNS,
            [
                (
                    c.monitor_id,
                    c.location,
                    c.confirmed.value,
                    instant(c.since),
                    c.run_state.value if c.run_state is not None else None,
                    c.run_length,
                    instant(c.run_start),
                    instant(c.last_at),
                    c.silenced,
                )
                for c in rows
            ],
            keys=("monitor_id", "location"),
        )

    async def _insert_results(
        self, conn: AsyncConnection, batch: Sequence[Result]
    ) -> Sequence[Result]:
        """Insert the results whose id is not stored yet; return those inserted."""
        at = dialects.instant(self.dialect)
        rows = [
            (
                r.id,
                r.monitor_id,
                r.location,
                at(r.at),
                r.state.value,
                r.latency,
                r.error.value if r.error else None,
                r.detail or None,
            )
            for r in batch
        ]
        ids = await dialects.insert_new(conn, self.dialect, "results", _RESULT_COLUMNS, rows)
        if ids is None:
            return batch
        # Some were stored before (a redelivery), or came twice in this batch: each
        # inserted id counts once, for its first result.
        out = []
        for r in batch:
            if r.id in ids:
                ids.discard(r.id)
                out.append(r)
        return out

    async def _update_rollups(
        self,
        conn: AsyncConnection,
        inserted: Sequence[Result],
        cached: dict[tuple[str, str, datetime], Rollup],
    ) -> dict[tuple[str, str, datetime], Rollup]:
        by_key: dict[tuple[str, str, datetime], list[Result]] = defaultdict(list)
        for r in inserted:
            when = r.at
            # Results come in UTC (the wire decodes to it, probes make it): the hour
            # is a replace() away; astimezone() costs more than the rest of the loop.
            hour = (
                when.replace(minute=0, second=0, microsecond=0)
                if when.tzinfo is UTC
                else hour_of(when)
            )
            by_key[(r.monitor_id, r.location, hour)].append(r)
        if not by_key:
            return {}
        missing = [k for k in by_key if k not in cached]
        loaded = await self._load_rollups(conn, missing) if missing else {}
        updated: dict[tuple[str, str, datetime], Rollup] = {}
        for key, items in by_key.items():
            # Updated in place (a copy per key and batch cost more than the rest of the
            # rollup work); if the transaction fails the caller drops its cache.
            acc = cached.get(key) or loaded.get(key) or Rollup(*key)
            acc.add_all(items)
            updated[key] = acc
        at = dialects.instant(self.dialect)
        await dialects.upsert_rows(
            conn,
            self.dialect,
            "rollups",
            _ROLLUP_COLUMNS,
            [
                (
                    a.monitor_id,
                    a.location,
                    at(a.hour),
                    a.checks,
                    a.down,
                    a.degraded,
                    a.latency_sum,
                    a.sketch.to_bytes(),
                    a.unanswered,
                    a.assertion_failed,
                )
                for a in updated.values()
            ],
            keys=("monitor_id", "location", "hour"),
        )
        return updated

    async def _load_rollups(
        self, conn: AsyncConnection, keys: Sequence[tuple[str, str, datetime]]
    ) -> dict[tuple[str, str, datetime], Rollup]:
        out: dict[tuple[str, str, datetime], Rollup] = {}
        wanted = set(keys)
        by_hour: dict[datetime, set[str]] = defaultdict(set)
        for m, _loc, h in keys:
            by_hour[h].add(m)
        # One statement shape per hour (an expanding IN, compiled once and cached), not
        # an OR of one AND per key: a batch at the top of an hour brings a new key for
        # every monitor and location, and compiling those ORs stalled the writer.
        # Chunked: SQLite limits the number of bound parameters per statement.
        for hour, monitor_set in by_hour.items():
            monitor_ids = sorted(monitor_set)
            for i in range(0, len(monitor_ids), 500):
                stmt = select(rollups).where(
                    rollups.c.hour == hour,
                    rollups.c.monitor_id.in_(monitor_ids[i : i + 500]),
                )
                for row in await conn.execute(stmt):
                    r = _rollup_from_row(row)
                    if r.key in wanted:
                        out[r.key] = r
        return out

    async def _apply_changes(
        self, conn: AsyncConnection, changes: Sequence[IntervalChange | IntervalRevision]
    ) -> None:
        """Apply each monitor's changes and revisions, in order.

        In rounds with one item per monitor each, so that a storm of state changes
        (every monitor at once) is a few statements, not two per change.
        """
        at = dialects.instant(self.dialect)
        pending = list(changes)
        while pending:
            round_: list[IntervalChange] = []
            revisions: list[IntervalRevision] = []
            later: list[IntervalChange | IntervalRevision] = []
            seen: set[str] = set()
            for change in pending:
                if change.monitor_id in seen:
                    later.append(change)
                    continue
                seen.add(change.monitor_id)
                if isinstance(change, IntervalRevision):
                    revisions.append(change)
                else:
                    round_.append(change)
            if round_:
                # Never end an interval before its start (a late transition).
                await dialects.execute_many(
                    conn,
                    self.dialect,
                    "UPDATE state_intervals SET end_at = CASE WHEN start_at > {} THEN start_at "
                    "ELSE {} END WHERE monitor_id = {} AND end_at IS NULL",
                    [(at(c.at), at(c.at), c.monitor_id) for c in round_],
                )
            if revisions:
                await self._apply_revisions(conn, revisions)
            opened = [c for c in round_ if c.state is not State.UNKNOWN]
            if opened:
                await dialects.execute_many(
                    conn,
                    self.dialect,
                    "INSERT INTO state_intervals (monitor_id, state, start_at, end_at) "
                    "VALUES ({}, {}, {}, NULL)",
                    [(c.monitor_id, c.state.value, at(c.at)) for c in opened],
                )
            pending = later

    async def _apply_revisions(
        self, conn: AsyncConnection, revisions: Sequence[IntervalRevision]
    ) -> None:
        """Replace each monitor's history from its revision's ``since`` on."""
        at = dialects.instant(self.dialect)
        await dialects.execute_many(
            conn,
            self.dialect,
            "DELETE FROM state_intervals WHERE monitor_id = {} AND start_at >= {}",
            [(r.monitor_id, at(r.since)) for r in revisions],
        )
        await dialects.execute_many(
            conn,
            self.dialect,
            "UPDATE state_intervals SET end_at = {} WHERE monitor_id = {} AND start_at < {} "
            "AND (end_at IS NULL OR end_at > {})",
            [(at(r.since), r.monitor_id, at(r.since), at(r.since)) for r in revisions],
        )
        rows = [
            (r.monitor_id, state.value, at(start), None if end is None else at(end))
            for r in revisions
            for state, start, end in r.spans()
            if state is not State.UNKNOWN
        ]
        if rows:
            await dialects.execute_many(
                conn,
                self.dialect,
                "INSERT INTO state_intervals (monitor_id, state, start_at, end_at) "
                "VALUES ({}, {}, {}, {})",
                rows,
            )

    async def recover(self, resumed: Collection[str] = frozenset()) -> list[IntervalChange]:
        """Close intervals left open by a crash at the last result seen for the monitor.

        What happened after that result is not known; the gap until the engine
        confirms a state again is unknown time, never silently up. Monitors in
        ``resumed`` are left open: the engine goes on from where they were.
        """
        changes = []
        async with self.engine.connect() as conn:
            open_rows = (
                await conn.execute(
                    select(state_intervals.c.monitor_id, state_intervals.c.start_at).where(
                        state_intervals.c.end_at.is_(None)
                    )
                )
            ).all()
            for monitor_id, start in open_rows:
                if monitor_id in resumed:
                    continue
                last = (
                    await conn.execute(
                        select(func.max(results.c.at)).where(results.c.monitor_id == monitor_id)
                    )
                ).scalar()
                last_at = as_instant(last) if last is not None else start
                changes.append(IntervalChange(monitor_id, State.UNKNOWN, max(last_at, start)))
        if changes:
            async with self.engine.begin() as conn:
                await self._apply_changes(conn, changes)
        return changes

    async def prune_results(self, before: datetime, chunk: int = 50_000) -> int:
        """Delete raw results older than ``before``, in chunks; return how many."""
        total = 0
        while True:
            async with self.engine.begin() as conn:
                ids = select(results.c.id).where(results.c.at < before).limit(chunk)
                res = await conn.execute(delete(results).where(results.c.id.in_(ids)))
                n = res.rowcount or 0
            total += n
            if n < chunk:
                return total

    # -- reads --------------------------------------------------------------------

    async def intervals(
        self, window: Interval, monitor_ids: Iterable[str] | None = None
    ) -> dict[str, list[StateInterval]]:
        """State intervals overlapping ``window``, by monitor, in start order."""
        # No ORDER BY: sorting here lets SQLite read by time (ix_intervals_end) instead
        # of walking every monitor's whole history in (monitor_id, start_at) order.
        # The instants come as stored and are made datetimes here: the column type's
        # conversion, called per value through SQLAlchemy, was a third of the read.
        stmt = select(
            state_intervals.c.monitor_id,
            state_intervals.c.state,
            type_coerce(state_intervals.c.start_at, NullType()),
            type_coerce(state_intervals.c.end_at, NullType()),
        ).where(
            state_intervals.c.start_at < window.end,
            or_(state_intervals.c.end_at.is_(None), state_intervals.c.end_at > window.start),
        )
        wanted = None if monitor_ids is None else set(monitor_ids)
        # Compiling and matching a huge IN list costs more (1.9 s for 10,000 ids on a
        # month of benchmark data) than reading the whole window and filtering (0.6 s).
        if wanted is not None and len(wanted) <= _IN_LIMIT:
            stmt = stmt.where(state_intervals.c.monitor_id.in_(sorted(wanted)))
        out: dict[str, list[StateInterval]] = defaultdict(list)
        states = {s.value: s for s in State}
        # Nearly every instant is read twice (one interval's end, the next one's
        # start): each is made a datetime once, and both intervals share it.
        instants: dict[object, datetime] = {}
        async with self.engine.connect() as conn:
            for monitor_id, state, start, end in await conn.execute(stmt):
                if wanted is None or monitor_id in wanted:
                    begin = instants.get(start)
                    if begin is None:
                        begin = instants[start] = as_instant(start)
                    if end is not None:
                        stop = instants.get(end)
                        if stop is None:
                            stop = instants[end] = as_instant(end)
                    else:
                        stop = None
                    out[monitor_id].append(StateInterval(monitor_id, states[state], begin, stop))
        for spans in out.values():
            spans.sort(key=_by_start)
        return dict(sorted(out.items()))

    async def state_durations(
        self,
        window: Interval,
        monitor_ids: Iterable[str] | None = None,
        now: datetime | None = None,
    ) -> dict[str, dict[State, timedelta]]:
        """Time each monitor spent in each state inside ``window``, summed in the database.

        The window is cut at ``now`` (when given) and every interval clipped to it,
        half-open; an open interval runs to the cut. Time no interval covers is absent
        (the caller knows it as unknown). One monitor's intervals are disjoint, so the
        sums are exact: :func:`sla_engine.accounting.durations.durations_of` over
        :meth:`intervals` gives the same.
        """
        until = window.end if now is None else min(window.end, max(now, window.start))
        lo = literal(window.start, Instant())
        hi = literal(until, Instant())
        si = state_intervals.c
        if self.dialect == "postgresql":
            clipped = func.least(func.coalesce(si.end_at, hi), hi) - func.greatest(si.start_at, lo)
        else:  # SQLite's min() and max() of several arguments are scalar functions
            clipped = func.min(func.coalesce(si.end_at, hi), hi) - func.max(si.start_at, lo)
        stmt = (
            select(si.monitor_id, si.state, type_coerce(func.sum(clipped), NullType()))
            .where(si.start_at < hi, or_(si.end_at.is_(None), si.end_at > lo))
            .group_by(si.monitor_id, si.state)
        )
        wanted = None if monitor_ids is None else set(monitor_ids)
        if wanted is not None and len(wanted) <= _IN_LIMIT:
            stmt = stmt.where(si.monitor_id.in_(sorted(wanted)))
        states = {s.value: s for s in State}
        out: dict[str, dict[State, timedelta]] = defaultdict(dict)
        async with self.engine.connect() as conn:
            for monitor_id, state, summed in await conn.execute(stmt):
                if wanted is not None and monitor_id not in wanted:
                    continue
                span = summed if isinstance(summed, timedelta) else timedelta(microseconds=summed)
                out[monitor_id][states[state]] = span
        return dict(sorted(out.items()))

    async def rollups(
        self, window: Interval, monitor_ids: Iterable[str] | None = None
    ) -> list[Rollup]:
        """Hourly rollups whose hour starts inside ``window`` (packed days unpacked)."""
        ids = None if monitor_ids is None else list(monitor_ids)
        stmt = (
            select(rollups)
            .where(rollups.c.hour >= window.start, rollups.c.hour < window.end)
            .order_by(rollups.c.monitor_id, rollups.c.hour, rollups.c.location)
        )
        days = select(rollup_days).where(
            rollup_days.c.day >= day_of(window.start), rollup_days.c.day < window.end
        )
        if ids is not None:
            stmt = stmt.where(rollups.c.monitor_id.in_(ids))
            days = days.where(rollup_days.c.monitor_id.in_(ids))
        async with self.engine.connect() as conn:
            hourly = [_rollup_from_row(row) for row in await conn.execute(stmt)]
            packed = [
                Rollup(row.monitor_id, row.location, *hour)
                for row in await conn.execute(days)
                for hour in unpack_day(row.day, row.hours)
                if window.start <= hour.hour < window.end
            ]
        if not packed:
            return hourly
        merged: dict[tuple[str, str, datetime], Rollup] = {}
        for r in [*packed, *hourly]:
            # A late result may have made an hourly row for an hour already packed.
            if r.key in merged:
                _merge_into(merged[r.key], r)
            else:
                merged[r.key] = r
        return sorted(merged.values(), key=lambda r: (r.monitor_id, r.hour, r.location))

    async def compact_rollups(self, before: datetime, chunk: int = 24_000) -> int:
        """Pack hourly rollups of whole UTC days before ``before``, one row per day.

        Call it once raw results older than ``before`` are gone: those hours no longer
        change (a late result makes a new hourly row, which the next call packs in).
        Returns how many hourly rows were packed.
        """
        cutoff = day_of(before)
        packed = 0
        while True:
            async with self.engine.begin() as conn:
                rows = (
                    await conn.execute(
                        select(rollups)
                        .where(rollups.c.hour < cutoff)
                        .order_by(rollups.c.monitor_id, rollups.c.location, rollups.c.hour)
                        .limit(chunk)
                    )
                ).all()
                if not rows:
                    return packed
                groups: dict[tuple[str, str, datetime], list[Rollup]] = defaultdict(list)
                for row in rows:
                    r = _rollup_from_row(row)
                    groups[(r.monitor_id, r.location, day_of(r.hour))].append(r)
                existing = await self._load_days(conn, list(groups))
                for key, hours in groups.items():
                    for old in existing.get(key, []):
                        same = next((h for h in hours if h.hour == old.hour), None)
                        if same is None:
                            hours.append(old)
                        else:
                            _merge_into(same, old)
                await conn.execute(
                    dialects.upsert(rollup_days, self.dialect, ["monitor_id", "location", "day"]),
                    [
                        {"monitor_id": m, "location": loc, "day": d, "hours": pack_day(d, hours)}
                        for (m, loc, d), hours in groups.items()
                    ],
                )
                keys = [(row.monitor_id, row.location, row.hour) for row in rows]
                for i in range(0, len(keys), 300):
                    await conn.execute(
                        delete(rollups).where(
                            tuple_(rollups.c.monitor_id, rollups.c.location, rollups.c.hour).in_(
                                keys[i : i + 300]
                            )
                        )
                    )
                packed += len(rows)

    async def _load_days(
        self, conn: AsyncConnection, keys: Sequence[tuple[str, str, datetime]]
    ) -> dict[tuple[str, str, datetime], list[Rollup]]:
        out: dict[tuple[str, str, datetime], list[Rollup]] = {}
        for i in range(0, len(keys), 300):
            stmt = select(rollup_days).where(
                tuple_(rollup_days.c.monitor_id, rollup_days.c.location, rollup_days.c.day).in_(
                    keys[i : i + 300]
                )
            )
            for row in await conn.execute(stmt):
                out[(row.monitor_id, row.location, row.day)] = [
                    Rollup(row.monitor_id, row.location, *hour)
                    for hour in unpack_day(row.day, row.hours)
                ]
        return out

    async def latency_means(
        self, window: Interval, monitor_ids: Iterable[str] | None = None
    ) -> list[tuple[str, datetime, int, float]]:
        """Per monitor and hour in ``window``: answered checks and their latency sum.

        All locations together, summed in the database: charts of the mean need no
        sketch decoded (the answered checks are the sketch's count: ``checks - down``).
        """
        hour = rollups.c.hour
        stmt = (
            select(
                rollups.c.monitor_id,
                # Raw values, converted once per distinct hour below, not once per row.
                type_coerce(hour, NullType()),
                func.sum(rollups.c.checks - rollups.c.down),
                func.sum(rollups.c.latency_sum),
            )
            .where(hour >= window.start, hour < window.end)
            .group_by(rollups.c.monitor_id, hour)
            .order_by(rollups.c.monitor_id, hour)
        )
        if monitor_ids is not None:
            stmt = stmt.where(rollups.c.monitor_id.in_(list(monitor_ids)))
        instant = Instant()
        dialect = self.engine.dialect
        hours: dict[object, datetime] = {}
        out: list[tuple[str, datetime, int, float]] = []
        days = select(rollup_days.c.monitor_id, rollup_days.c.day, rollup_days.c.hours).where(
            rollup_days.c.day >= day_of(window.start), rollup_days.c.day < window.end
        )
        if monitor_ids is not None:
            days = days.where(rollup_days.c.monitor_id.in_(list(monitor_ids)))
        async with self.engine.connect() as conn:
            for m, raw, n, total in await conn.execute(stmt):
                at = hours.get(raw)
                if at is None:
                    converted = instant.process_result_value(raw, dialect)
                    if converted is None:
                        continue
                    at = hours[raw] = converted
                out.append((m, at, int(n or 0), float(total or 0.0)))
            packed: dict[tuple[str, datetime], list[float]] = {}
            # Days packed once raw results aged out (all locations of a monitor together).
            for m, day, blob in await conn.execute(days):
                for at, checks, down, latency_sum in unpack_day_counts(day, blob):
                    if window.start <= at < window.end:
                        acc = packed.setdefault((m, at), [0, 0.0])
                        acc[0] += checks - down
                        acc[1] += latency_sum
        if not packed:
            return out
        # An hour a late result reopened has a row in both tables: add them.
        merged: dict[tuple[str, datetime], list[float]] = {(m, at): [n, t] for m, at, n, t in out}
        for key, (n, t) in packed.items():
            acc = merged.setdefault(key, [0, 0.0])
            acc[0] += n
            acc[1] += t
        return [(m, at, int(n), t) for (m, at), (n, t) in sorted(merged.items())]

    async def recent_results(self, monitor_id: str, limit: int = 50) -> list[StoredResult]:
        """The newest raw results of a monitor, newest first."""
        stmt = (
            select(results)
            .where(results.c.monitor_id == monitor_id)
            .order_by(results.c.at.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [
                StoredResult(
                    row.id,
                    row.monitor_id,
                    row.location,
                    row.at,
                    State(row.state),
                    row.latency,
                    ErrorClass(row.error) if row.error else None,
                    row.detail or "",
                )
                for row in await conn.execute(stmt)
            ]

    async def count_results(self, monitor_id: str | None = None) -> int:
        """How many raw results are stored (for one monitor, or all)."""
        stmt = select(func.count()).select_from(results)
        if monitor_id is not None:
            stmt = stmt.where(results.c.monitor_id == monitor_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def result_ids_exist(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored."""
        found: set[str] = set()
        ids = list(ids)
        async with self.engine.connect() as conn:
            # Chunked: both databases limit the bound parameters of one statement.
            for i in range(0, len(ids), 2000):
                chunk = ids[i : i + 2000]
                rows = await conn.execute(select(results.c.id).where(results.c.id.in_(chunk)))
                found.update(r[0] for r in rows)
        return found

    async def rollup_keys(self, keys: Sequence[tuple[str, str, datetime]]) -> list[Rollup]:
        """Rollups by primary key (for tests and tools)."""
        if not keys:
            return []
        async with self.engine.connect() as conn:
            stmt = select(rollups).where(
                tuple_(rollups.c.monitor_id, rollups.c.location, rollups.c.hour).in_(list(keys))
            )
            return [_rollup_from_row(row) for row in await conn.execute(stmt)]


def day_of(at: datetime) -> datetime:
    """The UTC midnight that starts the day containing ``at``."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _merge_into(into: Rollup, other: Rollup) -> None:
    into.checks += other.checks
    into.down += other.down
    into.degraded += other.degraded
    into.latency_sum += other.latency_sum
    into.sketch.merge(other.sketch)
    into.unanswered += other.unanswered
    into.assertion_failed += other.assertion_failed


def _rollup_from_row(row: Any) -> Rollup:
    """A Rollup from a row of ``select(rollups)``: its columns in the table's order."""
    # Unpacked by position: a month's latency report reads tens of thousands of rows,
    # and reading each column by name cost more than decoding the sketch.
    monitor_id, location, hour, checks, down, degraded, latency_sum, sketch, unanswered, failed = (
        row
    )
    return Rollup(
        monitor_id,
        location,
        hour,
        checks,
        down,
        degraded,
        latency_sum,
        LatencySketch.from_bytes(sketch, latency_sum),
        unanswered,
        failed,
    )
