"""Every probe type's features against real servers the tests start (and Mosquitto)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections.abc import AsyncIterator

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import BaseModel, ValidationError

from probes import dns, http, icmp, mqtt, tcp, tls
from probes.dispatch import Check, run_check
from probes.resources import ProbeResources
from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from tests.conftest import ipv6_loopback, port_open, require
from tests.hostile_servers import dns_server, hostile_servers


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def resources(ca: trustme.CA) -> AsyncIterator[ProbeResources]:
    r = ProbeResources()
    ca.configure_trust(r.tls.get(True))
    ca.configure_trust(r.tls.get(True, minimum="TLSv1_2"))
    ca.configure_trust(r.tls.get(True, minimum="TLSv1_3"))
    yield r
    await r.close()


async def check(
    resources: ProbeResources, kind: str, target: str, settings: BaseModel, timeout: float = 2
) -> Result:
    return await run_check(Check("m", kind, target, 30, timeout, settings), "test", resources)


@pytest.fixture
async def api(aiohttp_server) -> TestServer:  # type: ignore[no-untyped-def]
    """Endpoints for the http probe's features."""
    connections: set[object] = set()

    async def whoami(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if auth not in ("Basic dXNlcjpzM2NyM3Q=", "Bearer tok-123"):
            return web.Response(status=401, text="who are you")
        return web.json_response({"auth": auth.split()[0]})

    async def status(request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok", "version": "1.4.2", "checks": [{"name": "db", "ok": True}]},
            headers={"X-Served-By": "api-7", "Cache-Control": "no-store"},
        )

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(
            text=f"{request.method} {body.decode()} {request.headers.get('X-Trace', '')}"
        )

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in (b"first ", b"second ", b"needle ", b"last"):
            await resp.write(part)
        await resp.write_eof()
        return resp

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"compressed needle"), headers={"Content-Encoding": "gzip"}
        )

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def see_other(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/echo")

    async def conn(request: web.Request) -> web.Response:
        assert request.transport is not None
        connections.add(request.transport)
        return web.Response(text=str(len(connections)))

    async def head_ok(request: web.Request) -> web.Response:
        return web.Response(text="x" * 100)

    app = web.Application()
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/status", status)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/loop", loop)
    app.router.add_post("/see-other", see_other)
    app.router.add_get("/conn", conn)
    app.router.add_get("/head", head_ok)
    server: TestServer = await aiohttp_server(app)
    return server


HTTP_CASES: list[tuple[str, str, dict[str, object], State, ErrorClass | None]] = [
    (
        "basic-auth",
        "/whoami",
        {"basic_auth": {"username": "user", "password": "s3cr3t"}},
        State.UP,
        None,
    ),
    ("bearer", "/whoami", {"bearer_token": "tok-123"}, State.UP, None),
    ("no-auth-401", "/whoami", {}, State.DOWN, ErrorClass.HTTP_STATUS),
    ("401-accepted", "/whoami", {"expected_status": [401]}, State.UP, None),
    ("keyword-absent-ok", "/status", {"keyword_absent": "error"}, State.UP, None),
    ("keyword-absent-found", "/status", {"keyword_absent": "ok"}, State.DOWN, ErrorClass.ASSERTION),
    ("regex", "/status", {"regex": r'"version": "1\.\d+'}, State.UP, None),
    ("regex-missing", "/status", {"regex": r"v2\."}, State.DOWN, ErrorClass.ASSERTION),
    ("regex-absent-found", "/status", {"regex_absent": "ok"}, State.DOWN, ErrorClass.ASSERTION),
    (
        "json-equals",
        "/status",
        {"json_assertions": [{"path": "status", "equals": "ok"}]},
        State.UP,
        None,
    ),
    (
        "json-filter",
        "/status",
        {"json_assertions": [{"path": "checks[?name=='db'].ok | [0]", "equals": True}]},
        State.UP,
        None,
    ),
    (
        "json-wrong",
        "/status",
        {"json_assertions": [{"path": "status", "equals": "degraded"}]},
        State.DOWN,
        ErrorClass.ASSERTION,
    ),
    (
        "json-matches",
        "/status",
        {"json_assertions": [{"path": "version", "matches": "^1\\."}]},
        State.UP,
        None,
    ),
    (
        "json-exists-false",
        "/status",
        {"json_assertions": [{"path": "error", "exists": False}]},
        State.UP,
        None,
    ),
    (
        "json-truthy-missing",
        "/status",
        {"json_assertions": [{"path": "nothing"}]},
        State.DOWN,
        ErrorClass.ASSERTION,
    ),
    (
        "json-not-json",
        "/echo",
        {"json_assertions": [{"path": "a"}]},
        State.DOWN,
        ErrorClass.ASSERTION,
    ),
    (
        "assertion-degraded",
        "/status",
        {"keyword": "missing", "assertion_state": "degraded"},
        State.DEGRADED,
        ErrorClass.ASSERTION,
    ),
    (
        "header-equals",
        "/status",
        {"header_assertions": [{"name": "X-Served-By", "equals": "api-7"}]},
        State.UP,
        None,
    ),
    (
        "header-matches",
        "/status",
        {"header_assertions": [{"name": "content-type", "matches": "json"}]},
        State.UP,
        None,
    ),
    (
        "header-absent-present",
        "/status",
        {"header_assertions": [{"name": "Cache-Control", "absent": True}]},
        State.DOWN,
        ErrorClass.ASSERTION,
    ),
    (
        "header-missing",
        "/status",
        {"header_assertions": [{"name": "X-Nope"}]},
        State.DOWN,
        ErrorClass.ASSERTION,
    ),
    (
        "post-body-headers",
        "/echo",
        {
            "method": "POST",
            "body": "payload-1",
            "headers": {"X-Trace": "t-9"},
            "keyword": "POST payload-1 t-9",
        },
        State.UP,
        None,
    ),
    ("chunked", "/chunked", {"keyword": "needle"}, State.UP, None),
    ("gzip", "/gzip", {"keyword": "compressed needle"}, State.UP, None),
    ("redirect-loop", "/loop", {}, State.DOWN, ErrorClass.REDIRECT_LOOP),
    (
        "303-becomes-get",
        "/see-other",
        {"method": "POST", "body": "x", "keyword": "GET"},
        State.UP,
        None,
    ),
    ("head", "/head", {"method": "HEAD"}, State.UP, None),
]


@pytest.mark.parametrize(
    ("path", "settings", "state", "error"),
    [c[1:] for c in HTTP_CASES],
    ids=[c[0] for c in HTTP_CASES],
)
async def test_http_features(
    api: TestServer,
    resources: ProbeResources,
    path: str,
    settings: dict[str, object],
    state: State,
    error: ErrorClass | None,
) -> None:
    result = await check(resources, "http", str(api.make_url(path)), http.Settings(**settings))  # type: ignore[arg-type]
    assert (result.state, result.error) == (state, error), result.detail


async def test_http_phases_and_metrics(api: TestServer, resources: ProbeResources) -> None:
    result = await check(resources, "http", str(api.make_url("/status")), http.Settings())
    m = result.metrics
    phases = {k.split(":")[1] for k in m if k.startswith("http_duration_seconds:")}
    assert phases == {"resolve", "connect", "tls", "processing", "transfer"}
    assert m["http_duration_seconds:connect"] > 0
    assert m["http_duration_seconds:tls"] == 0
    assert m["http_content_length"] > 0
    assert m["http_ssl"] == 0


async def test_https_phases_and_expiry(ca: trustme.CA, resources: ProbeResources) -> None:
    async with hostile_servers(ca) as servers:
        url = f"https://localhost:{servers.port('tls_good')}/"
        result = await check(resources, "http", url, http.Settings())
    assert result.state is State.UP, result.detail
    assert result.metrics["http_duration_seconds:tls"] > 0
    assert result.metrics["http_duration_seconds:resolve"] > 0  # "localhost" is looked up
    assert result.metrics["ssl_earliest_cert_expiry"] > result.at.timestamp()
    assert result.metrics["http_ssl"] == 1


async def test_keep_alive_reuses_the_connection(api: TestServer, resources: ProbeResources) -> None:
    url = str(api.make_url("/conn"))
    fresh = [await check(resources, "http", url, http.Settings(keyword="")) for _ in range(3)]
    kept = http.Settings(keep_alive=True)
    first = await check(resources, "http", url, kept)
    second = await check(resources, "http", url, kept)
    assert all(r.state is State.UP for r in [*fresh, first, second])
    assert second.metrics["http_duration_seconds:connect"] == 0
    assert first.metrics["http_duration_seconds:connect"] > 0


def test_http_settings_reject_bad_input() -> None:
    for bad in (
        {"headers": {"X-A": "a\r\nInjected: 1"}},
        {"headers": {"Bad Name": "x"}},
        {"json_assertions": [{"path": "a[["}]},
        {"regex": "("},
        {"basic_auth": {"username": "u", "password": "p"}, "bearer_token": "t"},
        {"assertion_state": "maybe"},
    ):
        with pytest.raises(ValidationError):
            http.Settings(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whitespace"):
        http.parse_target("http://example.com/a b")


async def test_tcp_send_expect(resources: ProbeResources) -> None:
    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 smtp.example ready\r\n")
        line = await reader.readline()
        writer.write(b"250 hello " + line.split()[-1] + b"\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(banner, "127.0.0.1", 0)
    target = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        ok = await check(
            resources, "tcp", target, tcp.Settings(send="EHLO slamon\r\n", expect="250 hello")
        )
        bad = await check(resources, "tcp", target, tcp.Settings(expect="^554"), timeout=0.5)
    finally:
        server.close()
        await server.wait_closed()
    assert ok.state is State.UP, ok.detail
    assert (bad.state, bad.error) == (State.DOWN, ErrorClass.ASSERTION)


async def test_tcp_and_tls_probe_over_tls(ca: trustme.CA, resources: ProbeResources) -> None:
    async with hostile_servers(ca) as servers:
        port = servers.port("tls_good")
        over_tls = await check(
            resources,
            "tcp",
            f"127.0.0.1:{port}",
            tcp.Settings(
                tls=True, server_name="localhost", send="GET / HTTP/1.0\r\n\r\n", expect="200 OK"
            ),
        )
        handshake = await check(
            resources, "tls", f"localhost:{port}", tls.Settings(min_version="TLS1.3")
        )
        expiring = await check(
            resources, "tls", f"localhost:{servers.port('tls_expiring')}", tls.Settings()
        )
    assert over_tls.state is State.UP, over_tls.detail
    assert over_tls.metrics["ssl_earliest_cert_expiry"] > 0
    assert handshake.state is State.UP, handshake.detail
    # The chain as sent: leaf and the CA; the leaf expires first.
    assert handshake.metrics["ssl_earliest_cert_expiry"] > handshake.at.timestamp()
    assert (expiring.state, expiring.error) == (State.DEGRADED, ErrorClass.CERT_EXPIRING)


async def test_tls_minimum_version_is_enforced(ca: trustme.CA, resources: ProbeResources) -> None:
    import ssl

    from tests.hostile_servers import Hostile, ok_http

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    server_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    hostile = Hostile()
    await hostile.add("tls12", ok_http, server_ctx)
    try:
        result = await check(
            resources,
            "tls",
            f"localhost:{hostile.port('tls12')}",
            tls.Settings(min_version="TLS1.3"),
        )
    finally:
        await hostile.close()
    assert (result.state, result.error) == (State.DOWN, ErrorClass.TLS), result.detail


async def test_dns_probe_metrics(resources: ProbeResources) -> None:
    async with dns_server() as (server, port):
        result = await check(
            resources, "dns", "www.example.", dns.Settings(server="127.0.0.1", port=port)
        )
        tcp_result = await check(
            resources,
            "dns",
            "www.example.",
            dns.Settings(server="127.0.0.1", port=port, transport="tcp"),
            timeout=0.5,
        )
    assert result.state is State.UP, result.detail
    assert result.metrics["dns_answer_rrs"] == 1
    assert result.metrics["dns_lookup_time_seconds"] > 0
    assert server.queries == 1
    # Our tiny server speaks UDP only: TCP to it is refused.
    assert tcp_result.error is ErrorClass.REFUSED


def test_dns_settings_validation() -> None:
    with pytest.raises(ValidationError):
        dns.Settings(record_type="NOPE")
    with pytest.raises(ValidationError):
        dns.Settings(expected_rcode="MAYBE")
    assert dns.Settings(record_type="aaaa").record_type == "AAAA"


async def test_icmp_loopback(resources: ProbeResources) -> None:
    allowed = os.geteuid() == 0
    if not allowed:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            low, high = map(int, f.read().split())
        allowed = low <= os.getegid() <= high
    require(allowed, "ICMP sockets (root or net.ipv4.ping_group_range)")
    result = await check(
        resources, "icmp", "127.0.0.1", icmp.Settings(count=2, packet_interval=0.05)
    )
    assert result.state is State.UP, result.detail
    assert result.metrics["icmp_duration_seconds:rtt"] > 0
    assert result.metrics["icmp_packet_loss_ratio"] == 0
    unresolvable = await check(resources, "icmp", "no-such-host.invalid", icmp.Settings())
    assert unresolvable.error is ErrorClass.DNS


async def test_mqtt_round_trip_through_mosquitto(resources: ProbeResources) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    result = await check(resources, "mqtt", "127.0.0.1:1883", mqtt.Settings(), timeout=5)
    assert result.state is State.UP, result.detail
    assert result.metrics["mqtt_duration_seconds:roundtrip"] > 0


async def test_mqtt_refused(resources: ProbeResources, refused_port: int) -> None:
    result = await check(resources, "mqtt", f"127.0.0.1:{refused_port}", mqtt.Settings())
    assert result.error is ErrorClass.REFUSED, result.detail


def test_every_type_is_registered_with_its_settings() -> None:
    from probes.registry import PROBE_TYPES

    assert set(PROBE_TYPES) == {"http", "tcp", "tls", "dns", "icmp", "mqtt", "push"}
    assert [t for t, p in PROBE_TYPES.items() if not p.scheduled] == ["push"]
    for probe_type in PROBE_TYPES.values():
        assert probe_type.settings.model_config.get("frozen")
        assert probe_type.settings.model_config.get("extra") == "forbid"


def test_json_assertions_in_toml_shape() -> None:
    settings = http.Settings.model_validate(
        json.loads('{"json_assertions": [{"path": "a.b", "equals": null}]}')
    )
    assert settings.json_assertions[0].failure({"a": {"b": None}}) is None
    assert settings.json_assertions[0].failure({"a": {"b": 1}}) is not None


async def test_http_over_ipv6_loopback(resources: ProbeResources) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        host = [line for line in head.split(b"\r\n") if line.lower().startswith(b"host:")]
        body = host[0].split(b":", 1)[1].strip()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    require(ipv6_loopback(), "the IPv6 loopback address ::1")
    server = await asyncio.start_server(serve, "::1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await check(
            resources, "http", f"http://[::1]:{port}/x", http.Settings(keyword=f"[::1]:{port}")
        )
    finally:
        server.close()
        await server.wait_closed()
    assert result.state is State.UP, result.detail
