"""Real services a distributed test controls: a private mosquitto, a TCP proxy it cuts."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def unique_prefix() -> str:
    """A topic prefix no other test run (or engineer) uses."""
    return f"t-{uuid.uuid4().hex[:12]}/v1"


def _candidate_port() -> int:
    """A port the kernel had free a moment ago (mosquitto cannot listen on port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A mosquitto on its own port with on-disk persistence, stopped and started at will.

    Configured as deploy/mosquitto/mosquitto.conf recommends for slamon: no limit on the
    messages queued for a persistent session (the default of 1000 drops results while
    the engine is away).

    Mosquitto 2.0 takes "port 0" to mean a Unix socket, so it cannot be handed an
    ephemeral port to read back. Instead the first start asks the kernel for a free
    port and starts mosquitto on it; if another process took the port in between,
    mosquitto says "Address already in use" in its log and exits, and the start tries
    another port (at most ten times). Success is read from mosquitto's own log
    ("running" after it opened its listener), never from "something answers on the
    port", which another process could satisfy. A restart reuses the port, since
    clients reconnect there.
    """

    def __init__(self, workdir: Path, extra: str = "", anonymous: bool = True) -> None:
        self.port = 0  # known once started
        self.dir = workdir / f"mosquitto-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir(parents=True)
        self.conf = self.dir / "mosquitto.conf"
        self.log = self.dir / "mosquitto.log"
        self.extra = extra
        self.anonymous = anonymous
        self.proc: subprocess.Popen[bytes] | None = None

    def _write_conf(self, port: int) -> None:
        self.conf.write_text(
            f"listener {port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self.anonymous else 'false'}\n"
            f"{self.extra}"
            # Started as root, mosquitto would switch to its own user, which cannot
            # write its persistence file in the test's private directory.
            "user root\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            f"log_dest file {self.log}\n"
        )

    def log_text(self) -> str:
        """What mosquitto logged so far (connections, refusals, errors)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _launch(self, port: int) -> bool:
        """Start mosquitto on ``port``; False when the port was taken, raise otherwise."""
        self._write_conf(port)
        offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = self.log_text()[offset:]
            exited = self.proc.poll() is not None
            if " running" in new and not exited:
                return True
            if exited:
                self.proc = None
                if "Address already in use" in new:
                    return False
                raise RuntimeError(f"private mosquitto exited on port {port}: {new!r}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"private mosquitto did not start in 10 s: {self.log_text()!r}")

    def start(self) -> None:
        if self.port:
            if not self._launch(self.port):
                raise RuntimeError(f"port {self.port} was taken while mosquitto was stopped")
            return
        for _ in range(10):
            port = _candidate_port()
            if self._launch(port):
                self.port = port
                return
        raise RuntimeError("no free port for the private mosquitto after 10 tries")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # mosquitto saves its persistence file on SIGTERM
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; ``cut()`` drops every connection and refuses
    new ones until ``restore()`` (the database "unreachable")."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0  # bound at the first start, then kept: clients were told this port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.cut()
