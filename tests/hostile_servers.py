"""Servers that misbehave on purpose, for the hostile-target tests.

Each listens on 127.0.0.1, port 0, inside the test's event loop. Every connection
handler ends when the client goes away, so the only descriptors left between checks
are the listening sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import trustme

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _gone(reader: asyncio.StreamReader) -> None:
    """Return when the client has closed its side (or reset)."""
    with contextlib.suppress(OSError):
        while await reader.read(65536):
            pass


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never answer."""
    await _gone(reader)


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send the status line one byte a second."""
    gone = asyncio.ensure_future(_gone(reader))
    try:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
            writer.write(bytes([byte]))
            await asyncio.wait([gone], timeout=1.0)
            if gone.done():
                return
    finally:
        gone.cancel()


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset right after accepting."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer with bytes that are not HTTP, then keep the connection open."""
    writer.write(b"SSH-2.0-OpenSSH_9.9\r\n\x00\xff\xfe garbage")
    await _gone(reader)


async def endless_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 200 whose body never ends (no length, no chunking: read until close)."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    block = b"x" * 65536
    with contextlib.suppress(OSError):
        while not writer.is_closing():
            writer.write(block)
            await writer.drain()


async def huge_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A status line followed by a one-megabyte header."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * (1 << 20) + b"\r\n\r\nok")
    with contextlib.suppress(OSError):
        await writer.drain()
    await _gone(reader)


async def redirect_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Redirect every request to a new URL, forever."""
    line = await reader.readline()
    await reader.readuntil(b"\r\n\r\n")
    path = line.split()[1].decode()
    n = int(path.rsplit("/", 1)[-1]) if path.rsplit("/", 1)[-1].isdigit() else 0
    writer.write(
        f"HTTP/1.1 302 Found\r\nLocation: /r/{n + 1}\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    with contextlib.suppress(OSError):
        await writer.drain()
    writer.close()


async def ok_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A well-behaved answer, used behind the TLS servers."""
    with contextlib.suppress(asyncio.IncompleteReadError, OSError):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
    writer.close()


@dataclass
class Hostile:
    """Running servers by name; ``port(name)`` says where each one listens."""

    servers: dict[str, asyncio.Server] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def port(self, name: str) -> int:
        return int(self.servers[name].sockets[0].getsockname()[1])

    async def add(self, name: str, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)  # type: ignore[arg-type]
            try:
                await handler(reader, writer)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass
            finally:
                writer.transport.abort()
                self.tasks.discard(task)  # type: ignore[arg-type]

        self.servers[name] = await asyncio.start_server(
            tracked, "127.0.0.1", 0, ssl=tls, ssl_handshake_timeout=5 if tls else None
        )

    async def close(self) -> None:
        for server in self.servers.values():
            server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for server in self.servers.values():
            await server.wait_closed()


def tls_contexts(ca: trustme.CA) -> dict[str, ssl.SSLContext]:
    """Server contexts: self-signed, expired, and issued for another host."""
    now = datetime.now(UTC)
    out = {}
    for name, cert in (
        ("good", ca.issue_cert("localhost", "127.0.0.1")),
        ("self_signed", trustme.CA().issue_cert("localhost", "127.0.0.1")),
        (
            "expired",
            ca.issue_cert(
                "localhost",
                "127.0.0.1",
                not_before=now - timedelta(days=30),
                not_after=now - timedelta(days=1),
            ),
        ),
        ("expiring", ca.issue_cert("localhost", "127.0.0.1", not_after=now + timedelta(days=3))),
        ("wrong_host", ca.issue_cert("example.org")),
    ):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        out[name] = ctx
    return out


@contextlib.asynccontextmanager
async def hostile_servers(ca: trustme.CA) -> AsyncIterator[Hostile]:
    """Every misbehaving TCP server of the corpus, started and stopped together."""
    hostile = Hostile()
    try:
        for name, handler in (
            ("silent", silent),
            ("trickle", trickle),
            ("reset", reset),
            ("garbage", garbage),
            ("endless_body", endless_body),
            ("huge_header", huge_header),
            ("redirect_forever", redirect_forever),
        ):
            await hostile.add(name, handler)
        for name, ctx in tls_contexts(ca).items():
            await hostile.add(f"tls_{name}", ok_http, ctx)
        yield hostile
    finally:
        await hostile.close()


class DnsServer(asyncio.DatagramProtocol):
    """Answers by query name: ``timeout.*`` never, ``servfail.*``, ``nxdomain.*``,
    and anything else with one A record, 192.0.2.1."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queries += 1
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return
        name = query.question[0].name.to_text().lower()
        if name.startswith("timeout."):
            return
        reply = dns.message.make_response(query)
        if name.startswith("servfail."):
            reply.set_rcode(dns.rcode.SERVFAIL)
        elif name.startswith("nxdomain."):
            reply.set_rcode(dns.rcode.NXDOMAIN)
        else:
            reply.flags |= dns.flags.AA
            reply.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.1"))
        assert self.transport is not None
        self.transport.sendto(reply.to_wire(), addr)


@contextlib.asynccontextmanager
async def dns_server() -> AsyncIterator[tuple[DnsServer, int]]:
    """The DNS server on 127.0.0.1 and its UDP port."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        DnsServer, local_addr=("127.0.0.1", 0)
    )
    try:
        yield protocol, int(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


def free_port() -> int:
    """A local TCP port where nothing listens (bound, then released): connects are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(ca_pem: str) -> None:
    import json
    import sys

    ca = trustme.CA()
    ca.cert_pem.write_to_path(ca_pem)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def watch_stdin() -> None:
        await reader.read()
        stdin_closed.set_result(None)

    async with hostile_servers(ca) as hostile, dns_server() as (_dns, dns_port):
        ports = {name: hostile.port(name) for name in hostile.servers}
        ports["refused"] = free_port()
        print(json.dumps({"ports": ports, "dns": dns_port}), flush=True)
        watcher = asyncio.create_task(watch_stdin())
        await stdin_closed
        watcher.cancel()


def main() -> None:
    """Serve every hostile target in this process until stdin closes.

    Prints one JSON line: ``{"ports": {name: port}, "dns": port}``. Probing from another
    process keeps the servers' own garbage and memory out of what the prober measures
    (tests/test_probe_cycles.py, bench/failing_targets.py).
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--ca-pem", required=True, help="where to write the CA certificate")
    asyncio.run(_serve(parser.parse_args().ca_pem))


if __name__ == "__main__":
    main()
