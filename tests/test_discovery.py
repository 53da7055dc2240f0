"""[[discovery]]: monitors from Prometheus file_sd files and slamon's own monitor files."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from slamon.config.common import ConfigError
from slamon.config.discovery import make_id
from slamon.discovery.source import ConfigSource
from tests.slamon_process import SlamonProcess, eventually, metric


@pytest.fixture
async def listeners() -> AsyncIterator[list[int]]:
    """Four real TCP servers on loopback; their ports."""

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    servers = [await asyncio.start_server(greet, "127.0.0.1", 0) for _ in range(4)]
    try:
        yield [s.sockets[0].getsockname()[1] for s in servers]
    finally:
        for s in servers:
            s.close()
            await s.wait_closed()


def write_json(path: Path, doc: Any) -> None:
    # As the tools that write these files do: a whole new file, renamed over the old.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def file_sd_config(tmp_path: Path) -> Path:
    (tmp_path / "targets").mkdir(exist_ok=True)
    cfg = tmp_path / "slamon.toml"
    cfg.write_text(
        f"""
[store]
url = "sqlite+aiosqlite:///{tmp_path}/d.db"
flush_interval = "50ms"
[confirmation]
down_after = 1
up_after = 1

[[discovery]]
id = "edge"
kind = "file_sd"
files = ["targets/*.json"]

[discovery.template]
type = "tcp"
name = "{{job}} at {{host}}"
interval = "1s"
"""
    )
    return cfg


@pytest.mark.slow
async def test_file_sd_targets_become_monitors_and_follow_edits_without_a_restart(
    listeners: list[int], tmp_path: Path
) -> None:
    cfg = file_sd_config(tmp_path)
    sd = tmp_path / "targets" / "web.json"
    a, b, c, d = (f"127.0.0.1:{port}" for port in listeners)
    write_json(
        sd,
        [{"targets": [a, b], "labels": {"job": "web"}}, {"targets": [c], "labels": {"job": "db"}}],
    )
    p = await SlamonProcess.start(cfg, tmp_path / "slamon.log")
    try:

        async def monitors() -> dict[str, dict[str, Any]]:
            body = await p.get_json("/api/v1/monitors")
            return {m["id"]: m for m in body["monitors"]}

        async def shows(ids: set[str]) -> bool:
            now = await monitors()
            return set(now) == ids and all(m["state"] == "up" for m in now.values())

        ids = {make_id(f"edge-{t}") for t in (a, b, c)}
        await eventually(lambda: shows(ids), what="three discovered monitors up")
        assert (await monitors())[make_id(f"edge-{c}")]["name"] == "db at 127.0.0.1"
        since_a = (await monitors())[make_id(f"edge-{a}")]["since"]

        # Edit the file: b goes, d comes; a stays as it was.
        write_json(
            sd,
            [
                {"targets": [a, d], "labels": {"job": "web"}},
                {"targets": [c], "labels": {"job": "db"}},
            ],
        )
        ids = {make_id(f"edge-{t}") for t in (a, c, d)}
        await eventually(lambda: shows(ids), what="the edited target list")
        assert (await monitors())[make_id(f"edge-{a}")]["since"] == since_a

        # A bad edit is reported and skipped whole: the last good monitors stay.
        write_json(sd, [{"targets": [a, b], "labels": {"job": "web"}}, {"targets": "not a list"}])

        async def reported() -> bool:
            return metric(await p.metrics(), "slamon_discovery_bad_files", source="edge") == 1

        await eventually(reported, what="the bad file reported")
        assert f"{sd}[1]: expected" in p.log()
        assert set(await monitors()) == ids  # b did not come back: nothing half-applied
        text = await p.metrics()
        assert metric(text, "slamon_discovery_monitors", source="edge") == 3
        assert p.proc.poll() is None
    finally:
        assert await p.stop() == 0


def test_slamon_monitor_files_toml_and_json(tmp_path: Path) -> None:
    (tmp_path / "mon").mkdir()
    (tmp_path / "mon" / "a.toml").write_text(
        '[[monitors]]\nid = "from-toml"\ntype = "tcp"\ntarget = "127.0.0.1:9"\n'
    )
    (tmp_path / "mon" / "b.json").write_text(
        json.dumps({"monitors": [{"id": "from-json", "type": "http", "target": "http://x/"}]})
    )
    (tmp_path / "mon" / "c.json").write_text(
        json.dumps([{"id": "from-list", "type": "tcp", "target": "127.0.0.1:9", "interval": "5s"}])
    )
    cfg = tmp_path / "slamon.toml"
    cfg.write_text(
        '[[monitors]]\nid = "static"\ntype = "tcp"\ntarget = "127.0.0.1:9"\n'
        '[[components]]\nid = "api"\nname = "API"\nmonitors = ["static", "from-json"]\n'
        '[[discovery]]\nid = "own"\nkind = "monitors"\nfiles = ["mon/*.toml", "mon/*.json"]\n'
    )
    config = ConfigSource(cfg, {}).load()
    assert [m.id for m in config.monitors] == ["static", "from-toml", "from-json", "from-list"]
    assert config.monitors[3].interval == 5
    # A component may name a discovered monitor; when it goes, the config says so.
    (tmp_path / "mon" / "b.json").write_text(json.dumps({"monitors": []}))
    with pytest.raises(ConfigError) as info:
        ConfigSource(cfg, {}).load()
    assert info.value.errors == ["components[0].monitors[1]: no monitor has the id 'from-json'"]


JOB = {"job": "x"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "not valid JSON"),
        (
            json.dumps([{"targets": ["127.0.0.1:1", 5], "labels": JOB}]),
            "[0].targets[1]: expected a target string",
        ),
        (
            json.dumps([{"targets": ["127.0.0.1:1"], "labels": {"job": 1}}]),
            "[0].labels: expected string labels",
        ),
        (
            json.dumps([{"targets": ["127.0.0.1:1", "no port"], "labels": JOB}]),
            "[0].targets[1].target: expected host:port, got 'no port'",
        ),
        (json.dumps({"targets": []}), "expected a list of target groups"),
        (
            json.dumps([{"targets": ["127.0.0.1:1", "127.0.0.1:1"], "labels": JOB}]),
            "monitor id 'edge-127.0.0.1-1' is made twice",
        ),
    ],
    ids=["not-json", "not-a-string", "label-not-string", "bad-target", "not-a-list", "twice"],
)
def test_a_bad_file_sd_file_is_skipped_whole_and_says_where(
    tmp_path: Path, content: str, expected: str
) -> None:
    cfg = file_sd_config(tmp_path)
    good = tmp_path / "targets" / "good.json"
    bad = tmp_path / "targets" / "bad.json"
    write_json(good, [{"targets": ["127.0.0.1:7"], "labels": {"job": "x"}}])
    bad.write_text(content)
    source = ConfigSource(cfg, {})
    config = source.load()
    # The good file's monitor only: nothing of the bad one, not even its good targets.
    assert [m.id for m in config.monitors] == ["edge-127.0.0.1-7"]
    problems = source.catalog.problems()
    assert len(problems) == 1 and str(bad) in problems[0] and expected in problems[0], problems
    assert source.catalog.status["edge"].bad_files == 1


def test_a_template_placeholder_without_a_label_is_a_file_problem(tmp_path: Path) -> None:
    cfg = file_sd_config(tmp_path)  # the template says {job}
    write_json(tmp_path / "targets" / "t.json", [{"targets": ["127.0.0.1:7"]}])
    source = ConfigSource(cfg, {})
    assert source.load().monitors == []
    assert "the template says {job}, which this target has no label for" in "\n".join(
        source.catalog.problems()
    )


def test_a_bad_template_is_a_config_error_with_its_toml_path(tmp_path: Path) -> None:
    cfg = tmp_path / "slamon.toml"
    cfg.write_text(
        '[[discovery]]\nid = "edge"\nkind = "file_sd"\nfiles = ["t/*.json"]\n'
        '[discovery.template]\ntype = "http"\ntarget = "ftp://{target}/"\ninterval = "0.1s"\n'
    )
    with pytest.raises(ConfigError) as info:
        ConfigSource(cfg, {}).load()
    assert info.value.errors == ["discovery[0].template.interval: must be at least 1s"]
    cfg.write_text(cfg.read_text().replace('"0.1s"', '"1s"'))
    with pytest.raises(ConfigError) as info:
        ConfigSource(cfg, {}).load()
    assert any(
        e.startswith("discovery[0].template.target: expected an http") for e in info.value.errors
    )


def test_a_discovered_id_that_the_config_uses_skips_the_file(tmp_path: Path) -> None:
    cfg = file_sd_config(tmp_path)
    cfg.write_text(
        cfg.read_text()
        + '\n[[monitors]]\nid = "edge-127.0.0.1-7"\ntype = "tcp"\ntarget = "127.0.0.1:7"\n'
    )
    write_json(
        tmp_path / "targets" / "t.json", [{"targets": ["127.0.0.1:7"], "labels": {"job": "x"}}]
    )
    source = ConfigSource(cfg, {})
    assert [m.id for m in source.load().monitors] == ["edge-127.0.0.1-7"]
    assert "is already used by the config file" in source.catalog.problems()[0]


def test_ids_from_long_or_odd_targets() -> None:
    assert make_id("edge-[::1]:443") == "edge-1-443"
    long = make_id("edge-" + "a" * 100)
    assert len(long) == 64 and long != make_id("edge-" + "a" * 99)
