"""Building the site from a real store, writing it atomically, serving it, the CLI."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from probes.result import Result
from sla_engine.time.intervals import Interval
from sla_engine.time.states import State
from slamon.app import build_runtime, create_app
from slamon.cli.main import main
from slamon.config.load import parse_config
from slamon.site.build import render_from_store
from slamon.site.folder import SiteFolderError, write_site
from slamon.site.views import build_snapshot
from slamon.store import migrate
from slamon.store.sql import IntervalChange, Store
from slamon.store.writer import Writer
from statuspage.render import PageRenderer

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def config(tmp_path: Path, **statuspage: object) -> dict[str, object]:
    return {
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/site.db"},
        "statuspage": {
            "title": "Site test",
            "timezone": "Europe/Oslo",
            "url": "https://status.example.test/",
            **statuspage,
        },
        "monitors": [
            {"id": "a1", "type": "tcp", "target": "127.0.0.1:9", "interval": "1h"},
            {"id": "a2", "type": "tcp", "target": "127.0.0.1:9", "interval": "1h"},
            {"id": "b", "type": "tcp", "target": "127.0.0.1:9", "interval": "1h"},
        ],
        "components": [
            {"id": "api", "name": "API", "group": "Core", "monitors": ["a1", "a2"], "quorum": 2},
            {"id": "web", "name": "Web", "monitors": ["b"]},
        ],
    }


async def filled_store(url: str) -> Store:
    """History: both API monitors down together for 30 min two days ago (local)."""
    store = Store.from_url(url)
    await migrate.upgrade(store.engine)
    writer = Writer(store)
    start = NOW - timedelta(days=10)
    outage = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for m in ("a1", "a2", "b"):
        writer.add_change(IntervalChange(m, State.UP, start))
    for m in ("a1", "a2"):
        writer.add_change(IntervalChange(m, State.DOWN, outage))
        writer.add_change(IntervalChange(m, State.UP, outage + timedelta(minutes=30)))
    # a1 alone down yesterday: with quorum 2 that is degraded, not down.
    writer.add_change(IntervalChange("a1", State.DOWN, outage + timedelta(days=1)))
    writer.add_change(IntervalChange("a1", State.UP, outage + timedelta(days=1, minutes=20)))
    for k in range(48):
        at = NOW - timedelta(hours=k, minutes=30)
        for m in ("a1", "a2"):
            writer.add_result(
                Result(
                    monitor_id=m,
                    location="local",
                    at=at,
                    latency=0.1 + 0.01 * (k % 5),
                    state=State.UP,
                )
            )
    await writer.flush()
    return store


async def test_snapshot_from_the_store(tmp_path: Path) -> None:
    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    try:
        snap = await build_snapshot(cfg, None, store, NOW)
    finally:
        await store.close()
    api, web = snap.components
    assert (api.id, api.group, web.group) == ("api", "Core", "")
    assert len(api.days) == 90
    assert api.days[-1].day.isoformat() == "2026-11-27"
    by_day = {d.day.isoformat(): d for d in api.days}
    assert by_day["2026-11-25"].down_seconds == 1800
    assert by_day["2026-11-26"].down_seconds == 0  # one of two down, quorum 2: degraded
    assert by_day["2026-11-26"].degraded_seconds == 1200
    assert by_day["2026-11-01"].percent is None  # before any data: no data, not 100 %
    # Data starts ten days ago at 12:00 UTC; that day is partly unknown.
    assert by_day["2026-11-17"].unknown_seconds == 13 * 3600
    assert api.state is State.UP and web.state is State.UP  # from the open intervals
    # Ten days measured, 30 minutes down (a1 alone down for 20 minutes is degraded).
    assert api.uptime_90 is not None
    assert abs(Fraction(api.uptime_90) - 100 * (1 - Fraction(1800, 10 * 86400))) < 1e-25
    assert api.uptime_30 == api.uptime_90
    # The last 24 hourly slots end with the current hour, which has no check yet: the
    # 23 checks at k = 0..22 hours ago, 100 ms plus 10 ms x (k mod 5).
    assert api.response_ms == pytest.approx(100 + sum(10 * (k % 5) for k in range(23)) / 23)
    assert sum(p.mean_ms is not None for p in api.latency) == 48
    assert web.response_ms is None


def test_the_cli_builds_and_swaps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg_path = tmp_path / "config.toml"
    data = config(tmp_path)
    lines = [
        "[store]",
        f'url = "{data["store"]["url"]}"',  # type: ignore[index]
        "[statuspage]",
        'title = "CLI"',
        'language = "nb"',
        'url = "https://status.example.test/"',
    ]
    lines += [
        f'[[monitors]]\nid = "{m}"\ntype = "tcp"\ntarget = "127.0.0.1:9"' for m in ("a1", "a2")
    ]
    cfg_path.write_text("\n".join(lines) + "\n")

    async def fill() -> None:
        store = await filled_store(data["store"]["url"])  # type: ignore[index]
        await store.close()

    asyncio.run(fill())
    out = tmp_path / "public"
    assert main(["statuspage", "build", "--config", str(cfg_path), "--out", str(out)]) == 0
    first = out.resolve()
    assert main(["statuspage", "build", "--config", str(cfg_path), "--out", str(out)]) == 0
    assert out.is_symlink() and out.resolve() != first
    html = (out / "index.html").read_text()
    assert '<html lang="nb">' in html
    summary = json.loads((out / "api/v2/summary.json").read_text())
    assert [c["id"] for c in summary["components"]] == ["a1", "a2"]
    assert (out / "badges/a1-uptime.svg").exists()
    assert "files" in capsys.readouterr().out


def test_write_site_swaps_atomically_and_keeps_the_previous_build(tmp_path: Path) -> None:
    out = tmp_path / "www"
    builds = []
    for k in range(4):
        builds.append(write_site({"index.html": f"v{k}".encode(), "a/b.json": b"{}"}, out))
        assert (out / "index.html").read_text() == f"v{k}"
    assert out.is_symlink() and not os.path.isabs(os.readlink(out))  # relocatable
    alive = sorted(p.name for p in (tmp_path / "www.builds").iterdir())
    assert alive == sorted(b.name for b in builds[-2:])  # the previous one stays for readers
    assert not list(tmp_path.glob(".www.tmp-*"))


def test_write_site_refuses_a_real_folder_with_files(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("not slamon's")
    with pytest.raises(SiteFolderError, match="not a link"):
        write_site({"index.html": b"x"}, out)
    assert (out / "keep.txt").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    write_site({"index.html": b"x"}, empty)
    assert empty.is_symlink()


def test_a_failed_write_keeps_the_old_site(tmp_path: Path) -> None:
    out = tmp_path / "www"
    write_site({"index.html": b"good"}, out)
    with pytest.raises(OSError):  # "a" is a file, so "a/b" cannot be written
        write_site({"index.html": b"bad", "a": b"", "a/b": b""}, out)
    assert (out / "index.html").read_text() == "good"
    assert not list((tmp_path / "www.builds").glob(".tmp-*"))  # removed by the failed write


async def test_the_service_serves_and_writes_the_site(tmp_path: Path, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    cfg = parse_config(config(tmp_path, output=str(tmp_path / "out"), refresh="1h"), {})
    store = await filled_store(cfg.store.url)
    await store.close()
    runtime = build_runtime(cfg)
    client = await aiohttp_client(create_app(runtime))
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    index = await resp.read()
    assert b'id="component-api"' in index
    for path, ctype in (
        ("/index.html", "text/html; charset=utf-8"),
        ("/history.html", "text/html; charset=utf-8"),
        ("/components/api.html", "text/html; charset=utf-8"),
        ("/feed.atom", "application/atom+xml"),
        ("/badges/api-status.svg", "image/svg+xml"),
        ("/api/v2/summary.json", "application/json"),
        ("/api/v2/incidents/unresolved.json", "application/json"),
        ("/api/v2/scheduled-maintenances/upcoming.json", "application/json"),
    ):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.headers["Content-Type"] == ctype, path
    resp = await client.get("/api/v2/status.json")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    for missing in ("/components/nope.html", "/api/v2/nope.json", "/../etc/passwd"):
        assert (await client.get(missing)).status == 404, missing
    assert runtime.site is not None
    # The folder holds the same bytes the server sends (same build).
    files = runtime.site.site.files if runtime.site.site else {}
    assert (tmp_path / "out" / "index.html").read_bytes() == files["index.html"]


async def test_without_a_public_address_there_is_no_statuspage_api(
    tmp_path: Path,
    aiohttp_client,  # type: ignore[no-untyped-def]
) -> None:
    # Statuspage's documents give absolute addresses: with no [statuspage] url they are
    # not made, the page does not link them, and the server says what is missing.
    cfg = parse_config(config(tmp_path, url="", refresh="1h"), {})
    store = await filled_store(cfg.store.url)
    await store.close()
    client = await aiohttp_client(create_app(build_runtime(cfg)))
    index = await (await client.get("/")).text()
    assert "api/v2/" not in index
    resp = await client.get("/api/v2/summary.json")
    assert resp.status == 404
    assert "[statuspage] url" in await resp.text()


async def test_render_is_deterministic_for_a_store(tmp_path: Path) -> None:
    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    try:
        a = await render_from_store(cfg, store, PageRenderer(), NOW)
        b = await render_from_store(cfg, store, PageRenderer(), NOW)
    finally:
        await store.close()
    assert a == b


async def test_stored_incidents_and_config_maintenance_reach_the_site(tmp_path: Path) -> None:
    from sla_engine.incidents import Impact, IncidentStatus
    from slamon.store.incidents import IncidentStore

    data = config(tmp_path)
    data["maintenance"] = [
        {
            "id": "nightly",
            "title": "Nightly backup",
            "components": ["web"],
            "cron": "0 2 * * *",
            "duration": "30m",
            "timezone": "Europe/Oslo",
        },
        {
            "id": "upgrade",
            "title": "Database upgrade",
            "components": ["api"],
            "start": "2026-11-28T22:00:00+00:00",
            "end": "2026-11-28T23:00:00+00:00",
        },
    ]
    cfg = parse_config(data, {})
    store = await filled_store(cfg.store.url)
    try:
        incidents = IncidentStore(store)
        opened = await incidents.open(
            title="API errors",
            component_ids=["api"],
            impact=Impact.MAJOR,
            opened=NOW - timedelta(hours=1),
            message="Checks fail from every location.",
        )
        await incidents.add_update(
            opened.id,
            IncidentStatus.IDENTIFIED,
            "A bad deploy; rolling back.",
            "alice@example.com",
            NOW - timedelta(minutes=20),
        )
        files = await render_from_store(cfg, store, PageRenderer(), NOW)
    finally:
        await store.close()
    index = files["index.html"].decode()
    assert "API errors" in index and "A bad deploy; rolling back." in index
    assert "alice@example.com" not in b"".join(files.values()).decode()
    assert f"incidents/{opened.id}.html" in files
    assert "Database upgrade" in index
    assert 'id="maintenance-nightly@2026-11-28T01:00:00Z"' in index  # 02:00 in Oslo, next
    summary = json.loads(files["api/v2/summary.json"])
    assert summary["incidents"][0]["id"] == opened.id
    assert summary["incidents"][0]["status"] == "identified"
    upcoming = json.loads(files["api/v2/scheduled-maintenances/upcoming.json"])
    assert "upgrade" in [m["id"] for m in upcoming["scheduled_maintenances"]]
    assert index.count("Nightly backup") == 7  # the next week's occurrences
    assert (
        len([m for m in upcoming["scheduled_maintenances"] if m["name"] == "Nightly backup"]) > 20
    )
    assert "Nightly backup" not in files["history.html"].decode()  # routine: not history
    assert b"Nightly backup" not in files["feed.atom"]
    assert b"Database upgrade" in files["feed.atom"]


async def test_latency_means_sum_locations_in_the_database(store: Store) -> None:
    writer = Writer(store)
    hour = NOW.replace(minute=0)
    for location, latency in (("oslo", 0.1), ("oslo", 0.3), ("tokyo", 0.5)):
        writer.add_result(
            Result(monitor_id="m", location=location, at=hour, state=State.UP, latency=latency)
        )
    writer.add_result(
        Result(monitor_id="m", location="tokyo", at=hour, state=State.DOWN, latency=9.0)
    )
    writer.add_result(
        Result(monitor_id="other", location="oslo", at=hour, state=State.UP, latency=1.0)
    )
    await writer.flush()
    rows = await store.latency_means(
        Interval(hour - timedelta(hours=1), hour + timedelta(hours=1)), ["m"]
    )
    assert len(rows) == 1
    monitor, at, answered, total = rows[0]
    assert (monitor, at, answered) == ("m", hour, 3)  # the failed check is not a latency
    assert total == pytest.approx(0.9)


async def test_a_cancelled_request_never_leaves_a_build_half_way(tmp_path: Path) -> None:
    import asyncio as aio

    from slamon.engine import Engine
    from slamon.site.publisher import SitePublisher

    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    try:
        publisher = SitePublisher(cfg, store, Engine({}, Writer(store)), aio.Event())
        reading = aio.Event()
        intervals = store.intervals

        async def read_intervals(*args: Any, **kwargs: Any) -> Any:
            reading.set()
            return await intervals(*args, **kwargs)

        store.intervals = read_intervals  # type: ignore[method-assign]
        request = aio.create_task(publisher.current())
        await aio.wait_for(reading.wait(), 10)  # the build has started reading the store
        request.cancel()
        with pytest.raises(aio.CancelledError):
            await request
        assert publisher.site is not None  # finished before the cancel went on
        assert b'id="component-api"' in publisher.site.files["index.html"]
    finally:
        await store.close()


async def test_a_failing_build_serves_the_previous_one(tmp_path: Path) -> None:
    import asyncio as aio

    from slamon.engine import Engine
    from slamon.site.publisher import SitePublisher

    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    try:
        dirty = aio.Event()
        publisher = SitePublisher(cfg, store, Engine({}, Writer(store)), dirty)
        first = await publisher.current()

        async def broken(*args: object, **kwargs: object) -> None:
            raise OSError("disk on fire")

        store.intervals = broken  # type: ignore[method-assign,assignment]
        dirty.set()  # a state changed: a rebuild is due, and fails
        assert await publisher.current() is first
        assert publisher.failures == 1
        assert await publisher.current() is first  # no retry for a few seconds
        assert publisher.failures == 1
    finally:
        await store.close()


async def test_rebuilds_under_a_storm_of_changes_take_a_bounded_share_of_time(
    tmp_path: Path,
) -> None:
    import asyncio as aio

    from slamon.engine import Engine
    from slamon.site.publisher import Site, SitePublisher

    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    try:
        dirty = aio.Event()
        builds: list[float] = []

        class Timed(SitePublisher):
            async def _build(self) -> None:
                # A build that "took" 0.5 s: at a 20 % duty the next waits 2 s.
                self.dirty.clear()
                builds.append(aio.get_running_loop().time())
                self.site = Site({}, 0.0)
                self.last_seconds = 0.5

        publisher = Timed(cfg, store, Engine({}, Writer(store)), dirty)
        loop = aio.get_running_loop()
        started = loop.time()
        task = aio.create_task(publisher.run(debounce=0.05, duty=0.2))
        for _ in range(50):  # a state change every 50 ms for 2.5 s (longer when loaded)
            dirty.set()
            await aio.sleep(0.05)
        task.cancel()
        with pytest.raises(aio.CancelledError):
            await task
        storm = loop.time() - started
        # The first build at once, then one every 2 s at most, however long the storm
        # took on this machine: builds came at the duty's pace, not the changes'.
        assert 1 <= len(builds) <= 1 + storm / 2.0, (builds, storm)
        assert all(b - a >= 1.9 for a, b in itertools.pairwise(builds))
    finally:
        await store.close()
