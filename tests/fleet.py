"""A distributed slamon for fault tests and benchmarks, as real processes.

A private Mosquitto, one ``slamon engine`` process and ``slamon agent`` processes that
a test can SIGKILL and start again; TCP targets the agents probe; and an audit of what
the engine stored against what the agents measured:

- every result an agent spooled is stored exactly once (each spool is journaled by a
  SQLite trigger, so what a killed agent had spooled is known);
- each monitor's stored intervals against its history derived from the stored results'
  own times (``sla_engine.accounting.timeline``, fed in time order): seconds of no data
  stored as up or down, and seconds stored unknown where results say what it was.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.timeline import (
    LocationTimeline,
    combine,
    from_us,
    state_at,
    to_us,
)
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.store.schema import results, rollups
from slamon.store.sql import Store

KNOWN = (State.UP, State.DEGRADED, State.DOWN)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def write_config(path: Path, sections: dict[str, Any], monitors: list[dict[str, Any]]) -> Path:
    """A TOML config file of ``sections`` (tables, or lists of tables, of plain values)
    and ``monitors``."""
    lines = []
    for name, value in sections.items():
        for table in value if isinstance(value, list) else [value]:
            lines.append(f"[[{name}]]" if isinstance(value, list) else f"[{name}]")
            lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    for m in monitors:
        lines.append("[[monitors]]")
        lines += [f"{k} = {_toml(v)}" for k, v in m.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class TcpTarget:
    """A local port that accepts connections (an up target for tcp monitors)."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        async def accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.close()

        self._server = await asyncio.start_server(accept, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def journaled_spool(path: Path) -> Path:
    """Create an agent's spool whose every row is also copied into ``journal``.

    The agent creates its table only if missing, so it uses this one; the trigger keeps
    what it spooled even after the rows are published and deleted.
    """
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE IF NOT EXISTS outbox ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, body BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS journal (body BLOB NOT NULL);"
        "CREATE TRIGGER IF NOT EXISTS journal_outbox AFTER INSERT ON outbox "
        "BEGIN INSERT INTO journal (body) VALUES (NEW.body); END;"
    )
    db.close()
    return path


_ID = re.compile(rb'"id":"([0-9a-f]+)"')


def spooled_ids(path: Path) -> tuple[list[str], set[str]]:
    """The ids of every result the agent put in the spool at ``path``, and of those
    still in it (an agent stopped before the broker acknowledged them: maybe sent)."""
    db = sqlite3.connect(path)
    try:
        bodies = [row[0] for row in db.execute("SELECT body FROM journal")]
        waiting = [row[0] for row in db.execute("SELECT body FROM outbox")]
    finally:
        db.close()
    return (
        [m.decode() for body in bodies for m in _ID.findall(body)],
        {m.decode() for body in waiting for m in _ID.findall(body)},
    )


def spool_count(path: Path) -> int:
    """Rows waiting in the spool at ``path``."""
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
    finally:
        db.close()


@dataclass
class Fleet:
    """An engine and its agents as processes, sharing one config file."""

    workdir: Path
    config_path: Path
    engine: subprocess.Popen[bytes] | None = None
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    engine_starts: int = 0

    @property
    def engine_log(self) -> Path:
        return self.workdir / "engine.log"

    @property
    def http_port(self) -> int | None:
        """The web port the engine bound last (it starts with --port 0 and logs where)."""
        if not self.engine_log.exists():
            return None
        found = re.findall(r"serving http://127\.0\.0\.1:(\d+)/", self.engine_log.read_text())
        return int(found[-1]) if found else None

    def spool(self, location: str) -> Path:
        return self.workdir / f"spool-{location}.db"

    def _spawn(
        self, args: list[str], log: Path, config: Path | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "slamon", *args, "-c", str(config or self.config_path)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def start_engine(self) -> None:
        assert self.engine is None or self.engine.poll() is not None
        self.engine_starts += 1
        # Port 0: the kernel picks a free one (nothing here talks to its web server).
        self.engine = self._spawn(["engine", "--port", "0"], self.engine_log)

    async def engine_connected(self, timeout: float = 60) -> None:
        """Wait until the engine (started last) is subscribed to the broker."""
        await wait_until(
            lambda: (
                self.engine_log.read_text(errors="replace").count("connected to MQTT broker")
                >= self.engine_starts
            ),
            timeout,
        )

    def kill_engine(self) -> None:
        assert self.engine is not None
        self.engine.send_signal(signal.SIGKILL)
        self.engine.wait(10)

    def stop_engine(self) -> None:
        if self.engine is not None and self.engine.poll() is None:
            self.engine.send_signal(signal.SIGTERM)
            try:
                self.engine.wait(30)
            except subprocess.TimeoutExpired:
                self.engine.kill()
                self.engine.wait()

    def start_agent(self, location: str, config: Path | None = None) -> None:
        """Start the agent of ``location`` (on its own ``config``, if given)."""
        spool = self.spool(location)
        if not spool.exists():
            journaled_spool(spool)
        self.agents[location] = self._spawn(
            ["agent", "--location", location, "--spool", str(spool)],
            self.workdir / f"agent-{location}.log",
            config,
        )

    def kill_agent(self, location: str) -> None:
        proc = self.agents[location]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_agent(self, location: str) -> None:
        proc = self.agents[location]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for location in list(self.agents):
            self.stop_agent(location)
        self.stop_engine()


async def wait_until(predicate: Any, timeout: float, step: float = 0.1) -> None:
    """Poll ``predicate`` (sync) until true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


async def stored_count(store: Store) -> int:
    """Rows in the results table (-1 while the database cannot be read)."""
    try:
        return await store.count_results()
    except Exception:
        return -1


# -- the audit -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonitorSetup:
    """What the audit needs to know of a monitor to derive its history."""

    id: str
    locations: tuple[str, ...]
    quorum: int
    interval: float
    policy: ConfirmPolicy


@dataclass
class Audit:
    """What was measured, what was stored, and where they disagree (seconds)."""

    produced: int = 0
    stored: int = 0
    lost: int = 0
    unexpected: int = 0
    duplicated: int = 0
    # Per monitor: stored up/down/degraded where the results leave it unknown; stored
    # unknown where the results say what it was; stored one known state, results another.
    nodata_as_known: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    unknown_with_data: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    disagree: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # Per monitor: seconds stored unknown in the window, and where.
    unknown: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    unknown_spans: dict[str, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Per monitor: stretches in the window where a location sent nothing for longer
    # than the silence limit (location, last result before, first after).
    silences: dict[str, list[tuple[str, datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def total(self, kind: str, monitors: list[str] | None = None) -> float:
        values: dict[str, float] = getattr(self, kind)
        return sum(v for m, v in values.items() if monitors is None or m in monitors)


def expected_history(
    evidence: dict[str, list[tuple[int, State]]],
    setup: MonitorSetup,
    silent_after: float,
    since: int,
) -> list[tuple[int, State]]:
    """A monitor's states from ``since`` on, from its results in time order, all silent
    after their last (the run is over)."""
    cover = round(setup.interval * 1e6)
    timelines = []
    for loc in setup.locations:
        tl = LocationTimeline(
            setup.policy, cover=cover, silence=round(silent_after * cover), keep=1 << 30
        )
        for at, state in sorted(evidence.get(loc, [])):
            tl.add(at, state)
        tl.declare_silent()
        timelines.append(tl.points)
    return combine(timelines, setup.quorum, since)


async def audit(
    store_url: str,
    setups: list[MonitorSetup],
    spools: list[Path],
    *,
    silent_after: float,
    window: Interval,
) -> Audit:
    """Compare what the agents spooled and measured with what the engine stored."""
    out = Audit()
    spooled: set[str] = set()
    unsent: set[str] = set()
    for path in spools:
        ids, waiting = spooled_ids(path)
        spooled.update(ids)
        unsent |= waiting
    out.produced = len(spooled)
    store = Store.from_url(store_url)
    try:
        evidence: dict[str, dict[str, list[tuple[int, State]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        stored_ids: set[str] = set()
        async with store.engine.connect() as conn:
            stmt = select(results.c.id, results.c.monitor_id, results.c.location, results.c.at)
            stmt = stmt.add_columns(results.c.state)
            for rid, monitor_id, location, at, state in await conn.execute(stmt):
                stored_ids.add(rid)
                evidence[monitor_id][location].append((to_us(at), State(state)))
            checks = (await conn.execute(select(func.sum(rollups.c.checks)))).scalar() or 0
        out.stored = len(stored_ids)
        out.lost = len(spooled - unsent - stored_ids)
        out.unexpected = len(stored_ids - spooled)
        out.duplicated = int(checks) - out.stored
        history = await store.intervals(window, [s.id for s in setups])
    finally:
        await store.close()
    start, end = to_us(window.start), to_us(window.end)
    for setup in setups:
        stored: list[tuple[int, State]] = []
        for si in history.get(setup.id, []):
            stored.append((to_us(si.start), si.state))
            if si.end is not None:
                stored.append((to_us(si.end), State.UNKNOWN))
        stored.sort()
        expected = expected_history(evidence[setup.id], setup, silent_after, start)
        limit = round(silent_after * setup.interval * 1e6)
        for loc in setup.locations:
            times = sorted(t for t, _ in evidence[setup.id].get(loc, []))
            for a, b in itertools.pairwise(times):
                if b - a > limit and a < end and b > start:
                    out.silences[setup.id].append((loc, from_us(a), from_us(b)))
        bounds = sorted({start, end} | {t for t, _ in stored + expected if start < t < end})
        for a, b in itertools.pairwise(bounds):
            seconds = (b - a) / 1e6
            s, e = state_at(_last_wins(stored), a), state_at(expected, a)
            if s is State.UNKNOWN:
                out.unknown[setup.id] += seconds
                out.unknown_spans[setup.id].append((from_us(a), from_us(b)))
            if e is State.UNKNOWN and s in KNOWN:
                out.nodata_as_known[setup.id] += seconds
            elif s is State.UNKNOWN and e in KNOWN:
                out.unknown_with_data[setup.id] += seconds
            elif s is not e and s in KNOWN and e in KNOWN:
                out.disagree[setup.id] += seconds
    return out


def _last_wins(points: list[tuple[int, State]]) -> list[tuple[int, State]]:
    # An interval's end and the next one's start at one instant: the start holds.
    out: list[tuple[int, State]] = []
    for t, s in points:
        if out and out[-1][0] == t:
            if s is State.UNKNOWN:
                continue
            out.pop()
        out.append((t, s))
    return out


def describe(audit: Audit, groups: dict[str, list[str]]) -> list[str]:
    """The audit's figures, one line each, per group of monitors."""
    lines = [
        f"results spooled by the agents {audit.produced}, stored {audit.stored}: "
        f"{audit.lost} lost, {audit.duplicated} duplicated, {audit.unexpected} unexpected",
    ]
    for name, ids in groups.items():
        lines.append(
            f"{name} ({len(ids)} monitors): "
            f"{audit.total('nodata_as_known', ids):.3f} s of no data stored as up/down, "
            f"{audit.total('unknown_with_data', ids):.3f} s unknown where results say, "
            f"{audit.total('disagree', ids):.3f} s another state than results say, "
            f"{audit.total('unknown', ids):.1f} s unknown in all"
        )
        for m in ids:
            for a, b in audit.unknown_spans.get(m, [])[:3]:
                lines.append(f"  {m} unknown {a.isoformat()} .. {b.isoformat()}")
            for loc, a, b in audit.silences.get(m, [])[:3]:
                lines.append(f"  {m}@{loc} sent nothing {a.isoformat()} .. {b.isoformat()}")
    return lines
