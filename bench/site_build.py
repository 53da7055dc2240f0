"""Build the whole status site for 200 components with 90 days of history from a real store.

    .venv/bin/python bench/site_build.py [--components 200] [--runs 5] [--work DIR]
        [--quick] [--ledger FILE]

The history is written once through the Store API (the writer's path: results with
their hourly rollups, and state-interval changes) into a SQLite file in ``--work``
that later runs reuse (filling it takes minutes); raw results older than the default
7-day retention are pruned, as the service does. Every monitor has an hourly rollup
(120 checks an hour, a full latency sketch) for all 90 days, a handful of outages
and slow spells; every fifth component has three monitors under a quorum. Incidents
and maintenance windows are passed as values.

Prints the time of each stage (reading the store and computing the snapshot,
rendering every file, writing the new build folder and swapping the link) and of the
whole build: wall time, and the
CPU time of this process (less sensitive to what else runs on a shared machine), the
median of the runs, the machine's load average, and the size of the main page (the goal:
at most 100 KB for 200 components).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, bench/ is first on sys.path: the ledger module is found there, and
# _repo puts this checkout before the venv's editable install.
import _repo  # noqa: F401
from ledger import record

from probes.result import Result
from sla_engine.incidents import Impact, Incident, IncidentStatus, IncidentUpdate, MaintenanceWindow
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.states import State
from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.site.folder import SiteWriter, prune_builds
from slamon.site.views import ViewCache, build_snapshot
from slamon.store import migrate
from slamon.store.sql import IntervalChange, Rollup, Store, hour_of
from statuspage.render import PageRenderer
from statuspage.snapshot import LatencyPoint, PageSnapshot

DAYS = 90
CHECKS_PER_HOUR = 120
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def make_config(n: int, db: Path) -> Config:
    monitors = []
    components = []
    for i in range(n):
        members = [f"m{i}a", f"m{i}b", f"m{i}c"] if i % 5 == 0 else [f"m{i}"]
        for m in members:
            monitors.append({"id": m, "type": "tcp", "target": "127.0.0.1:9", "interval": "30s"})
        components.append(
            {
                "id": f"c{i:03d}",
                "name": f"Component {i}",
                "description": f"Public service {i}" if i % 3 == 0 else "",
                "group": f"Region {i // 20 + 1}",
                "monitors": members,
                "quorum": 2 if len(members) == 3 else None,
            }
        )
    for c in components:
        if c["quorum"] is None:
            del c["quorum"]
    return parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{db}"},
            "statuspage": {
                "title": "Bench status",
                "timezone": "Europe/Oslo",
                "url": "https://status.example.com/",  # the Statuspage JSON is built too
            },
            "monitors": monitors,
            "components": components,
        },
        {},
    )


def hourly_sketch(rng: random.Random, base: float) -> tuple[LatencySketch, float]:
    sketch = LatencySketch()
    total = 0.0
    for _ in range(CHECKS_PER_HOUR - 1):
        v = rng.lognormvariate(0, 0.35) * base
        sketch.add(v)
        total += v
    return sketch, total


async def fill(config: Config) -> None:
    rng = random.Random(6)
    store = Store.from_url(config.store.url)
    await migrate.upgrade(store.engine)
    start = NOW - timedelta(days=DAYS)
    first_hour = hour_of(start)
    hours = int((NOW - first_hour).total_seconds() // 3600) + 1
    started = time.perf_counter()
    for m in config.monitors:
        base = rng.uniform(0.03, 0.4)
        changes = [IntervalChange(m.id, State.UP, start)]
        at = start
        while True:
            at += timedelta(hours=rng.expovariate(1 / 200))
            if at >= NOW - timedelta(hours=1):
                break
            bad = State.DOWN if rng.random() < 0.6 else State.DEGRADED
            changes.append(IntervalChange(m.id, bad, at))
            at += timedelta(minutes=rng.uniform(1, 90))
            changes.append(IntervalChange(m.id, State.UP, at))
        cached: dict[tuple[str, str, datetime], Rollup] = {}
        results = []
        for h in range(hours):
            hour = first_hour + timedelta(hours=h)
            if hour > NOW:
                break
            sketch, total = hourly_sketch(rng, base)
            key = (m.id, "local", hour)
            cached[key] = Rollup(m.id, "local", hour, CHECKS_PER_HOUR - 1, 0, 0, total, sketch)
            results.append(
                Result(
                    monitor_id=m.id,
                    location="local",
                    at=hour + timedelta(minutes=30),
                    state=State.UP,
                    latency=base,
                )
            )
        # The writer's path: one transaction of results, their rollups and the changes.
        await store.write_batch(results, changes, cached)
    pruned = await store.prune_results(NOW - timedelta(days=7))
    await store.close()
    print(
        f"filled {len(config.monitors)} monitors x {hours} hours in "
        f"{time.perf_counter() - started:.1f}s (pruned {pruned} raw results past 7 days)"
    )


def incidents_and_maintenance(config: Config) -> tuple[list[Incident], list[MaintenanceWindow]]:
    rng = random.Random(7)
    ids = [c.id for c in config.components]
    incidents = []
    for k in range(60):
        opened = NOW - timedelta(hours=rng.uniform(1, DAYS * 24))
        resolved = None if k < 2 else opened + timedelta(minutes=rng.uniform(5, 120))
        status = IncidentStatus.INVESTIGATING if resolved is None else IncidentStatus.RESOLVED
        updates = [
            IncidentUpdate(
                opened + timedelta(minutes=5), IncidentStatus.INVESTIGATING, "Looking.", "x"
            )
        ]
        if resolved is not None:
            updates.append(IncidentUpdate(resolved, IncidentStatus.RESOLVED, "Fixed.", "x"))
        incidents.append(
            Incident(
                id=f"inc-{k}",
                title=f"Incident {k}",
                component_ids=tuple(rng.sample(ids, 2)),
                impact=rng.choice(list(Impact)),
                status=status,
                opened=opened,
                resolved=resolved,
                updates=tuple(updates),
            )
        )
    maintenance = [
        MaintenanceWindow(
            id=f"mw-{k}",
            title=f"Maintenance {k}",
            description="Planned work.",
            component_ids=tuple(rng.sample(ids, 3)),
            start=NOW + timedelta(days=k - 10),
            end=NOW + timedelta(days=k - 10, hours=2),
        )
        for k in range(14)
    ]
    return incidents, maintenance


async def one_build(
    config: Config,
    renderer: PageRenderer,
    out: Path,
    now: datetime = NOW,
    change: int | None = None,
    views: ViewCache | None = None,
    writer: SiteWriter | None = None,
    store: Store | None = None,
    keep: dict[str, object] | None = None,
) -> dict[str, float]:
    """One build at ``now``; ``change``: that component's live state is flipped.

    A build after ``NOW`` also has a minute of new results: every component's mean of
    the current hour moves (what the engine's refresh sees while checks come in).
    ``keep`` gets the snapshot and the files.

    ``views``, ``renderer`` and ``writer`` keep what they computed between builds (as
    the service's render worker does); a full build passes no ``views`` nor ``writer``
    and a renderer that forgot its pages. A ``store`` given is kept open (the service's
    is); without one, each build opens its own.
    """
    writer = writer or SiteWriter()
    incidents, maintenance = incidents_and_maintenance(config)
    own_store = store is None
    store = Store.from_url(config.store.url) if store is None else store
    rendered = renderer.rendered
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        snapshot = await build_snapshot(
            config, None, store, now, incidents=incidents, maintenance=maintenance, cache=views
        )
        snapshot = changed(snapshot, now, change)
        t1, c1 = time.perf_counter(), time.process_time()
        files = renderer.render_site(snapshot)
        if keep is not None:
            keep.update(snapshot=snapshot, files=files)
        t2, c2 = time.perf_counter(), time.process_time()
        writer.write(files, out, prune=False)
        t3, c3 = time.perf_counter(), time.process_time()
        prune_builds(out)
        t4 = time.perf_counter()
    finally:
        if own_store:
            await store.close()
    return {
        "snapshot": t1 - t0,
        "render": t2 - t1,
        "write": t3 - t2,
        "total": t3 - t0,
        "prune": t4 - t3,
        "snapshot_cpu": c1 - c0,
        "render_cpu": c2 - c1,
        "write_cpu": c3 - c2,
        "total_cpu": c3 - c0,
        "files": len(files),
        "bytes": sum(len(b) for b in files.values()),
        "index": len(files["index.html"]),
        "pages_rendered": renderer.rendered - rendered,
    }


def changed(snapshot: PageSnapshot, now: datetime, change: int | None) -> PageSnapshot:
    """``snapshot`` with component ``change`` flipped and the minutes since NOW's results."""
    comps = list(snapshot.components)
    if change is not None:
        c = comps[change]
        flipped = State.DOWN if c.state is not State.DOWN else State.UP
        comps[change] = replace(c, state=flipped, members_down=c.members)
    minutes = int((now - NOW).total_seconds() // 60)
    if minutes > 0:
        for k, c in enumerate(comps):
            if not c.latency:
                continue
            last = c.latency[-1]
            # A minute's checks pull the current hour's mean a little (deterministic).
            mean = (last.mean_ms or 100.0) * (1 + ((k * 7 + minutes) % 11 - 5) / 500)
            latency = (*c.latency[:-1], LatencyPoint(last.at, mean))
            comps[k] = replace(c, latency=latency, response_ms=(c.response_ms or mean) + 0.01)
    return replace(snapshot, components=tuple(comps))


def digests(files: dict[str, bytes]) -> dict[str, str]:
    """The sha256 of every file, by path."""
    return {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}


async def rebuilds(
    config: Config, renderer: PageRenderer, out: Path, runs: int
) -> list[dict[str, float]]:
    """As the service rebuilds: one store kept open, the views, pages and files kept.

    The last rebuild's files are checked against a cold build of the same snapshot (a
    fresh renderer, no views kept): every file must have the same sha256.
    """
    views, writer = ViewCache(), SiteWriter()
    store = Store.from_url(config.store.url)
    kept: dict[str, object] = {}
    try:
        await one_build(config, renderer, out, views=views, writer=writer, store=store)
        runs_out = [
            await one_build(
                config,
                renderer,
                out,
                NOW + timedelta(minutes=k + 1),
                change=k,
                views=views,
                writer=writer,
                store=store,
                keep=kept,
            )
            for k in range(runs)
        ]
        incidents, maintenance = incidents_and_maintenance(config)
        now = NOW + timedelta(minutes=runs)
        cold = await build_snapshot(
            config, None, store, now, incidents=incidents, maintenance=maintenance
        )
        cold = changed(cold, now, runs - 1)
        if cold != kept["snapshot"]:
            raise SystemExit("the views kept between builds made another snapshot than a cold one")
        want = digests(PageRenderer().render_site(cold))
        got = digests(kept["files"])  # type: ignore[arg-type]
        differ = sorted(p for p in want.keys() | got.keys() if want.get(p) != got.get(p))
        if differ:
            raise SystemExit(f"a rebuild differs from a cold build in {len(differ)}: {differ[:5]}")
        print(f"  sha256 of all {len(got)} files: a cached rebuild = a cold build")
        return runs_out
    finally:
        await store.close()


async def upgrade(config: Config) -> None:
    store = Store.from_url(config.store.url)
    try:
        await migrate.upgrade(store.engine)
    finally:
        await store.close()


def report(name: str, runs: list[dict[str, float]]) -> None:
    print(f"  {name}: stage  wall: median (min-max)        CPU of this process: median (min-max)")
    for stage in ("snapshot", "render", "write", "total"):
        wall = [r[stage] * 1000 for r in runs]
        cpu = [r[f"{stage}_cpu"] * 1000 for r in runs]
        print(
            f"    {stage:8s} {statistics.median(wall):7.1f} ms ({min(wall):.0f}-{max(wall):.0f})"
            f"    {statistics.median(cpu):7.1f} ms ({min(cpu):.0f}-{max(cpu):.0f})"
        )
    pages = [r["pages_rendered"] for r in runs]
    print(f"    pages re-rendered per build: {statistics.median(pages):.0f} (component pages)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(".bench-data"),
        help="folder for the store (kept between runs) and the built sites",
    )
    parser.add_argument("--quick", action="store_true", help="20 components, 3 runs")
    parser.add_argument("--ledger", help="append the figures to this ledger file")
    args = parser.parse_args()
    if args.quick:
        args.components, args.runs = 20, 3
    command = "bench/site_build.py" + (
        " --quick" if args.quick else f" --components {args.components}"
    )
    args.work.mkdir(exist_ok=True)
    db = args.work / f"statuspage-{args.components}.db"
    config = make_config(args.components, db)
    if not db.exists():
        asyncio.run(fill(config))
    else:
        asyncio.run(upgrade(config))  # a database kept from an older schema
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        out = Path(tmp) / "site"
        renderer = PageRenderer()
        asyncio.run(one_build(config, renderer, out))  # warm: templates compiled, imports
        full = []
        for _ in range(args.runs):
            renderer.forget()
            full.append(asyncio.run(one_build(config, renderer, out)))
        again = asyncio.run(rebuilds(config, renderer, out, args.runs))
    load = os.getloadavg()
    index = full[0]["index"]
    print(
        f"{args.components} components, {len(config.monitors)} monitors, {DAYS} days; "
        f"{full[0]['files']:.0f} files, {full[0]['bytes'] / 1e6:.1f} MB"
    )
    print(
        f"  main page {index} bytes = {index / 1000:.1f} KB = {index / 1024:.1f} KiB "
        f"({'within' if index <= 100_000 else 'OVER'} the 100 KB goal)"
    )
    report("full build (a fresh renderer)", full)
    report("rebuild (a minute later, one component changed)", again)
    prune = [r["prune"] * 1000 for r in full]
    print(
        f"  then removing the build before the previous one (after the swap, not counted): "
        f"{statistics.median(prune):.1f} ms"
    )
    print(f"  {len(full)} + {len(again)} runs after one warm-up build")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    n = args.components
    goal = "<= 500" if n == 200 else None
    for name, runs in (("full", full), ("rebuild", again)):
        record(
            args.ledger,
            f"statuspage.{name}_cpu_ms_{n}",
            statistics.median(r["total_cpu"] for r in runs) * 1000,
            unit="ms",
            goal=goal,
            scales="cpu",
            command=command,
        )
    record(
        args.ledger,
        f"statuspage.rebuild_pages_{n}",
        statistics.median(r["pages_rendered"] for r in again),
        unit="pages",
        scales="none",
        command=command,
    )
    record(
        args.ledger,
        f"statuspage.main_page_kb_{n}",
        index / 1000,
        unit="KB",
        goal="<= 100" if n == 200 else None,
        scales="none",
        command=command,
    )


if __name__ == "__main__":
    main()
