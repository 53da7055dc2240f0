"""HTTP and TCP probes against real servers the tests start."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme
from aiohttp import web

from probes import http, tcp
from probes.dispatch import Check, run_check
from probes.resources import ProbeResources
from probes.result import ErrorClass
from sla_engine.time.states import State
from tests.conftest import Targets, beside_a_sleep, ipv6_loopback, require


@pytest.fixture
async def resources() -> AsyncIterator[ProbeResources]:
    r = ProbeResources()
    yield r
    await r.close()


def http_check(url: str, timeout: float = 2.0, **settings: object) -> Check:
    return Check(
        "m1", "http", url, interval=30, timeout=timeout, settings=http.Settings(**settings)
    )


@pytest.mark.parametrize(
    ("path", "settings", "state", "error"),
    [
        ("/ok", {}, State.UP, None),
        ("/fail", {}, State.DOWN, ErrorClass.HTTP_STATUS),
        ("/fail", {"expected_status": [503]}, State.UP, None),
        ("/ok", {"keyword": "slamon-canary-body"}, State.UP, None),
        ("/ok", {"keyword": "not-there"}, State.DOWN, ErrorClass.ASSERTION),
        ("/redirect", {}, State.UP, None),
        ("/redirect", {"max_redirects": 0}, State.UP, None),
        (
            "/redirect",
            {"max_redirects": 0, "expected_status": ["2xx"]},
            State.DOWN,
            ErrorClass.HTTP_STATUS,
        ),
        ("/slow?s=0.3", {"latency_limit": "100ms"}, State.DEGRADED, ErrorClass.LATENCY),
        ("/slow?s=0.01", {"latency_limit": "2s"}, State.UP, None),
    ],
    ids=[
        "200-up",
        "503-down",
        "503-accepted",
        "keyword-present",
        "keyword-missing",
        "redirect-followed",
        "redirect-3xx-accepted",
        "redirect-not-followed-2xx-required",
        "slow-degraded",
        "fast-under-limit",
    ],
)
async def test_http_probe_outcomes(
    targets: Targets,
    resources: ProbeResources,
    path: str,
    settings: dict[str, object],
    state: State,
    error: ErrorClass | None,
) -> None:
    result = await run_check(http_check(targets.url(path), **settings), "test", resources)
    assert (result.state, result.error) == (state, error), result.detail
    assert result.monitor_id == "m1"
    assert result.location == "test"
    assert result.at.tzinfo is not None
    assert result.latency > 0


async def test_http_metrics_carry_status_and_redirects(
    targets: Targets, resources: ProbeResources
) -> None:
    result = await run_check(http_check(targets.url("/redirect")), "test", resources)
    assert result.metrics["http_status_code"] == 200
    assert result.metrics["http_redirects"] == 1


async def test_http_hang_times_out_within_the_timeout(
    targets: Targets, resources: ProbeResources
) -> None:
    check = run_check(http_check(targets.url("/hang"), timeout=0.5), "test", resources)
    result, took, slept = await beside_a_sleep(check, 0.5)
    assert result.state is State.DOWN
    assert result.error is ErrorClass.TIMEOUT
    # No sooner than the timeout, and no later than a plain sleep as long, plus a margin.
    assert 0.5 <= took <= slept + 0.3, (took, slept)


async def test_http_refused(refused_port: int, resources: ProbeResources) -> None:
    result = await run_check(http_check(f"http://127.0.0.1:{refused_port}/"), "test", resources)
    assert (result.state, result.error) == (State.DOWN, ErrorClass.REFUSED)


async def test_http_dns_failure_is_classified(resources: ProbeResources) -> None:
    # .invalid never resolves (RFC 2606); the resolver answers locally.
    result = await run_check(http_check("http://no-such-host.invalid/"), "test", resources)
    assert (result.state, result.error) == (State.DOWN, ErrorClass.DNS)


async def test_body_read_is_capped(aiohttp_server, resources: ProbeResources) -> None:  # type: ignore[no-untyped-def]
    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(64):  # 4 MiB, more than the cap
            await resp.write(b"x" * 65536)
        await resp.write(b"needle")
        return resp

    app = web.Application()
    app.router.add_get("/", big)
    server = await aiohttp_server(app)
    result = await run_check(
        http_check(str(server.make_url("/")), keyword="needle", max_body_bytes=1 << 20),
        "test",
        resources,
    )
    assert result.error is ErrorClass.ASSERTION
    assert "capped" in result.detail


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def _tls_server(ca: trustme.CA, hostname: str = "localhost") -> tuple[web.AppRunner, int]:
    cert = ca.issue_cert(hostname)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="tls ok")

    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def test_https_untrusted_certificate_is_tls_error(
    ca: trustme.CA, resources: ProbeResources
) -> None:
    runner, port = await _tls_server(ca)
    try:
        result = await run_check(http_check(f"https://localhost:{port}/"), "test", resources)
        assert (result.state, result.error) == (State.DOWN, ErrorClass.TLS), result.detail
        unverified = await run_check(
            http_check(f"https://localhost:{port}/", verify_tls=False), "test", resources
        )
        assert unverified.state is State.UP
    finally:
        await runner.cleanup()


async def test_tcp_connect_and_refused(
    targets: Targets, refused_port: int, resources: ProbeResources
) -> None:
    ok = await run_check(
        Check("t", "tcp", targets.host_port, 30, 2, tcp.Settings()), "test", resources
    )
    assert ok.state is State.UP
    refused = await run_check(
        Check("t", "tcp", f"127.0.0.1:{refused_port}", 30, 2, tcp.Settings()), "test", resources
    )
    assert (refused.state, refused.error) == (State.DOWN, ErrorClass.REFUSED)


async def test_tcp_ipv6_loopback(resources: ProbeResources) -> None:
    require(ipv6_loopback(), "the IPv6 loopback address ::1")
    server = await asyncio.start_server(lambda r, w: w.close(), "::1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await run_check(
            Check("t6", "tcp", f"[::1]:{port}", 30, 2, tcp.Settings()), "test", resources
        )
        assert result.state is State.UP
    finally:
        server.close()
        await server.wait_closed()


async def test_a_probe_that_raises_unexpectedly_becomes_a_result(
    resources: ProbeResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    from probes import registry

    async def broken(ctx: object, target: str, settings: object) -> object:
        raise RuntimeError("bug in a probe")

    monkeypatch.setitem(
        registry.PROBE_TYPES,
        "tcp",
        registry.ProbeType("tcp", tcp.Settings, tcp.parse_target, broken),
    )
    result = await run_check(
        Check("t", "tcp", "127.0.0.1:1", 30, 1, tcp.Settings()), "x", resources
    )
    assert (result.state, result.error) == (State.DOWN, ErrorClass.INTERNAL)
    assert "bug in a probe" in result.detail
