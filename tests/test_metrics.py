"""/metrics exposition: exact text from a fresh registry, and promtool's verdict."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, generate_latest

from probes.result import ErrorClass, Result
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.time.states import State
from slamon.bus.inprocess import InProcessBus
from slamon.engine import Engine
from slamon.metrics.live import LiveCollector
from slamon.store.sql import Store
from slamon.store.writer import Writer
from tests.conftest import require
from tests.golden_files import assert_golden

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def live_registry(tmp_path: Path) -> CollectorRegistry:
    writer = Writer(Store.from_url(f"sqlite+aiosqlite:///{tmp_path}/m.db"))
    engine = Engine(
        {
            "api": ConfirmPolicy(1, 1),
            "db": ConfirmPolicy(2, 1),
            "dns": ConfirmPolicy(1, 1),
            "gw": ConfirmPolicy(1, 1),
        },
        writer,
    )
    engine.ingest(
        Result(
            "api",
            "oslo",
            T0,
            State.UP,
            0.125,
            metrics={
                "http_status_code": 200,
                "http_redirects": 1,
                "http_duration_seconds:resolve": 0.0,
                "http_duration_seconds:connect": 0.002,
                "http_duration_seconds:tls": 0.004,
                "http_duration_seconds:processing": 0.1,
                "http_duration_seconds:transfer": 0.001,
                "ssl_earliest_cert_expiry": 1.8e9,
                "not_exported": 7.0,
            },
            id="a",
        )
    )
    engine.ingest(
        Result("db", "oslo", T0, State.DOWN, 5.0, ErrorClass.TIMEOUT, "no answer", id="b")
    )
    engine.ingest(
        Result(
            "db",
            "oslo",
            T0 + timedelta(seconds=30),
            State.DOWN,
            5.0,
            ErrorClass.TIMEOUT,
            "x",
            id="c",
        )
    )
    engine.ingest(
        Result(
            "dns",
            "oslo",
            T0,
            State.UP,
            0.003,
            metrics={"dns_lookup_time_seconds": 0.003, "dns_answer_rrs": 2},
            id="e",
        )
    )
    engine.ingest(
        Result(
            "gw",
            "oslo",
            T0,
            State.UP,
            0.0005,
            metrics={
                "icmp_duration_seconds:resolve": 0.0,
                "icmp_duration_seconds:rtt": 0.0005,
                "icmp_packet_loss_ratio": 0.0,
            },
            id="f",
        )
    )
    engine.ingest(Result("unconfigured", "oslo", T0, State.UP, 0.1, id="d"))
    registry = CollectorRegistry()
    registry.register(LiveCollector(engine, writer, InProcessBus(), {"api": "API", "db": "DB"}))
    return registry


def test_exposition_is_exact(tmp_path: Path) -> None:
    text = generate_latest(live_registry(tmp_path)).decode()
    assert_golden("metrics.txt", text)
    assert 'probe_success{location="oslo",monitor="api"} 1.0' in text
    assert 'slamon_monitor_state{monitor="db",state="down"} 1.0' in text
    assert "slamon_results_unknown_monitor_total 1.0" in text
    assert 'probe_http_duration_seconds{location="oslo",monitor="api",phase="tls"} 0.004' in text
    assert 'probe_icmp_duration_seconds{location="oslo",monitor="gw",phase="rtt"} 0.0005' in text
    assert "not_exported" not in text


def test_fast_render_is_byte_identical(tmp_path: Path) -> None:
    registry = live_registry(tmp_path)
    [live] = [c for c in registry._collector_to_names if isinstance(c, LiveCollector)]
    assert live.render_text(registry) == generate_latest(registry)


def test_fast_render_with_scheduler_metrics_and_odd_labels(tmp_path: Path) -> None:
    from slamon.metrics.live import SchedulerMetrics

    writer = Writer(Store.from_url(f"sqlite+aiosqlite:///{tmp_path}/m.db"))
    ids = [f"m{i}" for i in range(50)] + ['we"ird\\id\nx']
    engine = Engine({i: ConfirmPolicy(1, 1) for i in ids}, writer)
    for n, monitor in enumerate(ids):
        engine.ingest(
            Result(
                monitor,
                "loc-1" if n % 2 else "loc-2",
                T0 + timedelta(seconds=n),
                State.UP if n % 3 else State.DOWN,
                n * 0.001 + 1e-9,
                metrics={"http_status_code": 200, "http_duration_seconds:tls": 1e7 * n},
            )
        )
    registry = CollectorRegistry(auto_describe=True)
    SchedulerMetrics(registry).lateness.observe(0.02)
    live = LiveCollector(engine, writer, InProcessBus(), {})
    registry.register(live)
    Counter("after_live", "Registered after the live collector.", registry=registry).inc()
    text = live.render_text(registry)
    assert text == generate_latest(registry)
    assert text.index(b"probe_success") < text.index(b"after_live_total")


def test_promtool_accepts_the_exposition(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (Debian package 'prometheus')")
    assert promtool is not None
    text = generate_latest(live_registry(tmp_path))
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert proc.stdout.decode().strip() == "", proc.stdout.decode()


async def test_promtool_accepts_the_live_endpoint(aiohttp_client, tmp_path: Path, targets) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from slamon.app import build_runtime, create_app
    from slamon.config.load import parse_config

    promtool = shutil.which("promtool")
    require(promtool is not None, "promtool (Debian package 'prometheus')")
    assert promtool is not None
    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/live.db"},
            "monitors": [
                {"id": "api", "type": "http", "target": targets.url("/ok"), "interval": "1s"}
            ],
        },
        {},
    )
    runtime = build_runtime(config)
    client = await aiohttp_client(create_app(runtime))
    for _ in range(60):
        if runtime.engine.ingested:
            break
        await asyncio.sleep(0.05)
    resp = await client.get("/metrics")
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    body = await resp.read()
    assert b"probe_success{" in body
    proc = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(body), 60)
    assert proc.returncode == 0, out.decode()
    assert out.decode().strip() == "", out.decode()


def test_fast_render_of_the_whole_runtime_registry(tmp_path: Path) -> None:
    from slamon.app import build_runtime
    from slamon.config.load import parse_config

    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/rt.db"},
            "monitors": [
                {"id": "api", "type": "http", "target": "http://127.0.0.1:9/"},
                {"id": "cron", "type": "push", "interval": "1h"},
            ],
        },
        {},
    )
    runtime = build_runtime(config)
    runtime.engine.ingest(
        Result("api", "local", T0, State.UP, 0.1, metrics={"http_duration_seconds:tls": 0.01})
    )
    assert runtime.live is not None
    assert runtime.live.render_text(runtime.registry) == generate_latest(runtime.registry)


async def test_prometheus_accept_header_gets_the_text_format(
    aiohttp_client, tmp_path: Path, targets
) -> None:  # type: ignore[no-untyped-def]
    # Prometheus asks for OpenMetrics first and takes text/plain too: it gets the text
    # format, which renders off the event loop. Asking for OpenMetrics only gets it.
    from slamon.app import build_runtime, create_app
    from slamon.config.load import parse_config
    from slamon.web.public import accepts_text

    prometheus = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    assert accepts_text(prometheus)
    assert accepts_text("*/*")
    assert not accepts_text("application/openmetrics-text; version=1.0.0")
    assert not accepts_text("text/plain;q=0")
    config = parse_config(
        {
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/accept.db"},
            "monitors": [
                {"id": "api", "type": "http", "target": targets.url("/ok"), "interval": "1s"}
            ],
        },
        {},
    )
    client = await aiohttp_client(create_app(build_runtime(config)))
    resp = await client.get("/metrics", headers={"Accept": prometheus})
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# EOF" not in await resp.read()
    resp = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await resp.read()).endswith(b"# EOF\n")
