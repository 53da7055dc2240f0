"""The web edge holds: bounded bodies, strict JSON, security headers, a busy port, SIGTERM.

The memory, port and stop tests run `slamon run` as a real subprocess.
"""

from __future__ import annotations

import asyncio
import io
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from slamon.app import build_runtime, create_app
from slamon.config.load import parse_config
from slamon.web.headers import html_policy
from tests.conftest import Targets
from tests.slamon_process import SlamonProcess, eventually

TOKEN = "hardened-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def config_file(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "slamon.toml"
    cfg.write_text(
        f'[server]\nadmin_token = "{TOKEN}"\n'
        f'[store]\nurl = "sqlite+aiosqlite:///{tmp_path}/web.db"\nflush_interval = "50ms"\n' + extra
    )
    return cfg


@pytest.mark.slow
async def test_200_over_limit_bodies_leave_rss_where_it_was(tmp_path: Path) -> None:
    p = await SlamonProcess.start(config_file(tmp_path), tmp_path / "slamon.log")
    body = b"{" + b" " * (4 * 1024 * 1024)  # 4 MiB, four times the default limit

    async def streamed() -> AsyncIterator[bytes]:
        # No Content-Length: chunked, so only counting while it streams can refuse it.
        for i in range(0, len(body), 256 * 1024):
            yield body[i : i + 256 * 1024]

    try:
        async with aiohttp.ClientSession() as s:

            async def post(i: int) -> int:
                data = io.BytesIO(body) if i % 2 else streamed()
                async with s.post(p.url("/api/v1/admin/incidents"), data=data, headers=AUTH) as r:
                    await r.read()
                    return r.status

            # Warm up (the first requests import and allocate what every request needs).
            assert {await post(i) for i in range(10)} == {413}
            before = p.rss_mib()
            statuses = [await post(i) for i in range(200)]
            after = p.rss_mib()
        assert statuses == [413] * 200
        assert after - before < 10, f"RSS {before:.1f} MiB -> {after:.1f} MiB"
    finally:
        assert await p.stop() == 0


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = parse_config(
        {
            "server": {"admin_token": TOKEN, "max_body_bytes": 65536},
            "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/w.db"},
            "statuspage": {"refresh": "1h", "url": "https://status.example.com/"},
            "monitors": [{"id": "api", "type": "tcp", "target": "127.0.0.1:9"}],
        },
        {},
    )
    return await aiohttp_client(create_app(build_runtime(config)))


BAD_BODIES = [
    (b'\xff\xfe{"title": "x"}', "body: not UTF-8 (invalid byte at offset 0)"),
    (b"[" * 1000 + b"]" * 1000, "body: JSON nested deeper than 64 levels"),
    (b'{"a": ' * 1000 + b"1" + b"}" * 1000, "body: JSON nested deeper than 64 levels"),
    (b'{"title": ', "body: not valid JSON: Expecting value: line 1 column 11 (char 10)"),
]


@pytest.mark.parametrize(
    "path", ["/api/v1/admin/incidents", "/api/v1/admin/maintenance", "/api/v1/reports/whatif"]
)
@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=["utf8", "deep", "deep-obj", "bad"])
async def test_bad_json_is_a_400_that_says_why(
    client, path: str, body: bytes, message: str
) -> None:  # type: ignore[no-untyped-def]
    resp = await client.post(path, data=body, headers=AUTH)
    assert resp.status == 400
    doc = await resp.json()
    assert message in (doc.get("errors") or [doc.get("error")])


async def test_a_string_of_brackets_is_not_nesting(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/api/v1/admin/incidents",
        json={"title": "[" * 500, "components": ["api"], "author": "x", "message": "{" * 99},
        headers=AUTH,
    )
    assert resp.status == 201, await resp.text()


async def test_over_limit_from_content_length_and_while_streaming(client) -> None:  # type: ignore[no-untyped-def]
    big = b"[" + b"0," * 40_000 + b"0]"  # 80 KB: over this app's 64 KiB
    resp = await client.post("/api/v1/reports/whatif", data=big, headers=AUTH)
    assert resp.status == 413
    assert (await resp.json())["error"] == "body: larger than the limit of 65536 bytes"

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    resp = await client.post("/api/v1/reports/whatif", data=chunks(), headers=AUTH)
    assert resp.status == 413
    assert "Content-Length" not in resp.request_info.headers


async def test_security_headers_on_html_and_json_stays_cross_origin(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.read()
    csp = resp.headers["Content-Security-Policy"]
    assert csp == html_policy(html)
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "'sha256-" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    for path in ("/history.html", "/components/api.html"):
        page = await client.get(path)
        assert page.headers["Content-Security-Policy"] == html_policy(await page.read())
    # The Statuspage widget reads the JSON from other origins: that must keep working.
    summary = await client.get("/api/v2/summary.json", headers={"Origin": "https://example.org"})
    assert summary.headers["Access-Control-Allow-Origin"] == "*"
    assert summary.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in summary.headers
    badge = await client.get("/badges/api-status.svg")
    assert "script" not in badge.headers["Content-Security-Policy"]
    assert "default-src 'none'" in badge.headers["Content-Security-Policy"]


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "slamon",
                "run",
                "-c",
                str(config_file(tmp_path)),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 2
    assert proc.stderr == f"slamon: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert not (tmp_path / "web.db").exists()  # nothing started


@pytest.mark.slow
async def test_sigterm_lets_the_check_in_flight_finish_and_exits_0(
    targets: Targets, aiohttp_server, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    started = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(1.5)
        return web.Response(text="slow but fine")

    app = web.Application()
    app.router.add_get("/slow", slow)
    server = await aiohttp_server(app)
    cfg = config_file(
        tmp_path,
        f'[[monitors]]\nid = "slow"\ntype = "http"\ntarget = "{server.make_url("/slow")}"\n'
        'interval = "5s"\ntimeout = "4s"\n',
    )
    p = await SlamonProcess.start(cfg, tmp_path / "slamon.log")
    await asyncio.wait_for(started.wait(), 15)
    t0 = time.monotonic()
    p.proc.send_signal(15)
    code = await p.wait(10)
    took = time.monotonic() - t0
    assert code == 0, p.log()
    assert took < 10
    # The check that was running when SIGTERM came finished and its result was written.
    with sqlite3.connect(tmp_path / "web.db") as conn:
        rows = list(conn.execute("SELECT state, detail FROM results WHERE monitor_id = 'slow'"))
    assert rows == [("up", None)], rows
    assert "Traceback" not in p.log()


async def test_slamon_keeps_running_after_bad_bodies(client) -> None:  # type: ignore[no-untyped-def]
    for body, _ in BAD_BODIES:
        await client.post("/api/v1/admin/incidents", data=body, headers=AUTH)

    async def healthy() -> bool:
        return (await client.get("/healthz")).status == 200

    await eventually(healthy, 5, "healthz")


async def test_refused_requests_leave_no_reference_cycles(client) -> None:  # type: ignore[no-untyped-def]
    """A 401 or 413 is freed by reference counting, not left for the cyclic collector.

    (An unmatched route's 404 is a cycle inside aiohttp itself: its SystemRoute and the
    route's exception refer to each other, with no request or body in it.)
    """
    import gc

    async def refuse() -> list[int]:
        statuses = []
        for _ in range(20):
            r = await client.post("/api/v1/admin/incidents", data=b"{}")  # no token: 401
            statuses.append(r.status)
            big = b"{" + b" " * 70_000  # over this app's 64 KiB limit
            r = await client.post("/api/v1/admin/incidents", data=big, headers=AUTH)
            statuses.append(r.status)
        return statuses

    await refuse()  # warm up: first requests import and cache what every request needs
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        statuses = await refuse()
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, web.HTTPException)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert set(statuses) == {401, 413}
    assert left == []
