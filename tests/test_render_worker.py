"""The status site built in a separate process, and rebuilds that wait for ingestion."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from slamon.bus.ingest import MqttIngest
from slamon.bus.skew import ClockSkew
from slamon.config.load import parse_config
from slamon.engine import Engine
from slamon.site.build import render_from_store
from slamon.site.publisher import Site, SitePublisher
from slamon.site.worker import RenderWorker
from slamon.store.writer import Writer
from statuspage.render import PageRenderer
from tests.test_statuspage_site import NOW, config, filled_store


async def test_the_worker_builds_the_same_files_as_the_service_itself(tmp_path: Path) -> None:
    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    worker = RenderWorker()
    try:
        inline = await render_from_store(cfg, store, PageRenderer(), NOW)
        in_worker = await render_from_store(cfg, store, PageRenderer(), NOW, worker=worker)
        assert in_worker == inline
        assert "components/api.html" in in_worker
    finally:
        worker.close()
        await store.close()


async def test_a_dead_worker_leaves_the_builds_to_the_service(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    worker = RenderWorker()
    try:
        first = await render_from_store(cfg, store, PageRenderer(), NOW, worker=worker)
        pool = worker._pool
        assert pool is not None
        processes = list(pool._processes.values())  # type: ignore[union-attr]
        for process in processes:
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
        await wait_until(lambda: not any(p.is_alive() for p in processes))
        again = await render_from_store(cfg, store, PageRenderer(), NOW, worker=worker)
        assert again == first
        assert "render process died" in caplog.text
    finally:
        worker.close()
        await store.close()


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``predicate`` every 20 ms, at most ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


def test_auto_means_a_process_for_large_sites_only(tmp_path: Path) -> None:
    small = parse_config(config(tmp_path), {})
    assert not RenderWorker.wanted(small)
    assert RenderWorker.wanted(parse_config(config(tmp_path, render_worker="process"), {}))
    many = config(tmp_path, render_worker="auto")
    many["monitors"] = [{"id": f"m{i}", "type": "tcp", "target": "127.0.0.1:9"} for i in range(250)]
    many.pop("components")
    assert RenderWorker.wanted(parse_config(many, {}))
    many["statuspage"] = {"render_worker": "thread"}  # type: ignore[index]
    assert not RenderWorker.wanted(parse_config(many, {}))


async def test_a_rebuild_waits_while_ingestion_is_behind_but_not_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import slamon.site.publisher as statussite

    monkeypatch.setattr(statussite, "MAX_DEFER", 1.0)
    cfg = parse_config(config(tmp_path, refresh="1s"), {})
    store = await filled_store(cfg.store.url)
    behind = True
    builds: list[float] = []

    class Counted(SitePublisher):
        async def _build(self) -> None:
            self.dirty.clear()
            builds.append(time.monotonic())
            self.site = Site({}, time.monotonic())
            self.last_seconds = 0.0

    try:
        publisher = Counted(
            cfg, store, Engine({}, Writer(store)), asyncio.Event(), busy=lambda: behind
        )
        task = asyncio.create_task(publisher.run(debounce=0.05))
        try:
            await wait_until(lambda: len(builds) >= 3)
            # The first build at once; then each waits its refresh (1 s) and the bound
            # (1 s) on waiting for ingestion, and says it waited.
            gaps = [b - a for a, b in itertools.pairwise(builds[:3])]
            assert all(g >= 1.9 for g in gaps), gaps
            assert publisher.deferred_seconds >= 1.9
            behind = False
            # The wait under way when ingestion caught up ends at its next look; after
            # that, every refresh builds without waiting.
            count = len(builds)
            await wait_until(lambda: len(builds) >= count + 1)
            deferred = publisher.deferred_seconds
            await wait_until(lambda: len(builds) >= count + 3)
            assert publisher.deferred_seconds == deferred
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await store.close()


def test_behind_is_how_much_later_than_the_quickest_transit_results_arrive(
    tmp_path: Path,
) -> None:
    cfg = parse_config({**config(tmp_path), "bus": {"kind": "mqtt", "locations": ["a", "b"]}}, {})
    writer = Writer(None)  # type: ignore[arg-type]  # nothing is written here
    ingest = MqttIngest(cfg, Engine({}, writer), writer)
    assert ingest.behind() == 0.0
    ingest.skews["a"] = ClockSkew()
    ingest.skews["b"] = ClockSkew()
    now = time.monotonic()
    for k, sample in enumerate([0.02, 0.01, 0.03]):
        ingest.skews["a"].add(now - 3 + k, sample)
    for k, sample in enumerate([5.0, 5.01, 5.9]):  # 5 s of clock skew, 0.9 s late now
        ingest.skews["b"].add(now - 3 + k, sample)
    assert ingest.behind() == pytest.approx(0.9)
    ingest.skews["c"] = ClockSkew()
    ingest.skews["c"].add(now - 60, 0.01)
    ingest.skews["c"].add(now - 59, 9.0)  # late, but a minute ago: silent since
    assert ingest.behind() == pytest.approx(0.9)


async def test_the_worker_writes_the_site_and_hands_back_only_names(tmp_path: Path) -> None:
    from slamon.site.worker import FolderFiles

    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    out = tmp_path / "public"
    worker = RenderWorker(out)
    try:
        first = await render_from_store(cfg, store, PageRenderer(), NOW, worker=worker)
        assert isinstance(first, FolderFiles)
        assert first.writes_to(out) and not first.writes_to(tmp_path / "elsewhere")
        assert out.resolve() == first.folder.resolve()  # the link was swapped to it
        assert first == await render_from_store(cfg, store, PageRenderer(), NOW)
        assert (out / "index.html").read_bytes() == first["index.html"]
        # The same inputs again: every page is the same bytes, hard-linked, not rewritten.
        again = await render_from_store(cfg, store, PageRenderer(), NOW, worker=worker)
        assert isinstance(again, FolderFiles)
        assert again.folder != first.folder
        for name in first:
            assert (again.folder / name).stat().st_ino == (first.folder / name).stat().st_ino
        assert dict(again) == dict(first)
    finally:
        worker.close()
        await store.close()


async def test_a_worker_without_an_output_folder_uses_its_own_and_removes_it(
    tmp_path: Path,
) -> None:
    cfg = parse_config(config(tmp_path), {})
    store = await filled_store(cfg.store.url)
    worker = RenderWorker()
    try:
        files = await render_from_store(cfg, store, PageRenderer(), NOW, worker=worker)
        assert "components/api.html" in files
        private = worker.out.parent
        assert private.is_dir()
    finally:
        worker.close()
        await store.close()
    assert not private.exists()
