"""`slamon run` uses uvloop: the lean HTTP client and the TLS paths must work on it too."""

from __future__ import annotations

import asyncio
import contextlib

import trustme
import uvloop

from probes import http, tcp, tls
from probes.dispatch import Check, run_check
from probes.resources import ProbeResources
from probes.result import ErrorClass, Result
from sla_engine.time.states import State
from tests.hostile_servers import hostile_servers


def test_probes_on_uvloop() -> None:
    ca = trustme.CA()

    async def main() -> dict[str, Result]:
        resources = ProbeResources()
        ca.configure_trust(resources.tls.get(True))
        ca.configure_trust(resources.tls.get(True, minimum="TLSv1_2"))
        out = {}
        try:
            async with hostile_servers(ca) as h:
                cases = {
                    "https": Check(
                        "a",
                        "http",
                        f"https://localhost:{h.port('tls_good')}/",
                        30,
                        1,
                        http.Settings(keep_alive=True),
                    ),
                    "https-again": Check(
                        "a",
                        "http",
                        f"https://localhost:{h.port('tls_good')}/",
                        30,
                        1,
                        http.Settings(keep_alive=True),
                    ),
                    "expired": Check(
                        "b",
                        "http",
                        f"https://localhost:{h.port('tls_expired')}/",
                        30,
                        1,
                        http.Settings(),
                    ),
                    "garbage": Check(
                        "c",
                        "http",
                        f"http://127.0.0.1:{h.port('garbage')}/",
                        30,
                        1,
                        http.Settings(),
                    ),
                    "silent": Check(
                        "d",
                        "http",
                        f"http://127.0.0.1:{h.port('silent')}/",
                        30,
                        0.3,
                        http.Settings(),
                    ),
                    "tls": Check(
                        "e", "tls", f"localhost:{h.port('tls_good')}", 30, 1, tls.Settings()
                    ),
                    "tcp-tls": Check(
                        "f",
                        "tcp",
                        f"localhost:{h.port('tls_good')}",
                        30,
                        1,
                        tcp.Settings(tls=True, send="GET / HTTP/1.0\r\n\r\n", expect="200"),
                    ),
                }
                for name, check in cases.items():
                    out[name] = await run_check(check, "uv", resources)
        finally:
            await resources.close()
        return out

    results = uvloop.run(main())
    outcome = {name: (r.state, r.error) for name, r in results.items()}
    assert outcome == {
        "https": (State.UP, None),
        "https-again": (State.UP, None),
        "expired": (State.DOWN, ErrorClass.CERT_EXPIRED),
        "garbage": (State.DOWN, ErrorClass.PROTOCOL),
        "silent": (State.DOWN, ErrorClass.TIMEOUT),
        "tls": (State.UP, None),
        "tcp-tls": (State.UP, None),
    }, {n: r.detail for n, r in results.items()}
    assert results["https"].metrics["http_duration_seconds:tls"] > 0


def test_keep_alive_on_uvloop() -> None:
    async def main() -> list[Result]:
        connections = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            with contextlib.suppress(asyncio.IncompleteReadError, OSError):
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkept")
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        resources = ProbeResources()
        check = Check(
            "k",
            "http",
            f"http://127.0.0.1:{port}/",
            30,
            1,
            http.Settings(keep_alive=True, keyword="kept"),
        )
        try:
            return [await run_check(check, "uv", resources) for _ in range(3)]
        finally:
            await resources.close()
            server.close()
            await server.wait_closed()
            assert connections == 1

    results = uvloop.run(main())
    assert [r.state for r in results] == [State.UP] * 3, [r.detail for r in results]
    assert [r.metrics["http_duration_seconds:connect"] > 0 for r in results] == [
        True,
        False,
        False,
    ]
