"""Real receivers for notifier tests: HTTP, SMTP (aiosmtpd), MQTT, Alertmanager."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import port_open, require


@dataclass
class HttpReceiver:
    """Records JSON bodies per path; ``fail_first`` answers 503 that many times first."""

    bodies: dict[str, list[Any]] = field(default_factory=dict)
    fail_first: int = 0
    failures: int = 0

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            if self.failures < self.fail_first:
                self.failures += 1
                return web.Response(status=503, text="try later")
            self.bodies.setdefault(request.path, []).append(await request.json())
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{tail:.*}", record)
        return app


class _MailHandler:
    def __init__(self, inbox: list[Message]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.inbox.append(message_from_bytes(envelope.content))
        return "250 OK"


@contextlib.asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[int, list[Message]]]:
    """An SMTP server on a free loopback port in this event loop; yields (port, inbox)."""
    inbox: list[Message] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(_MailHandler(inbox), hostname="localhost"), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1], inbox
    finally:
        server.close()
        await server.wait_closed()


def mqtt_available() -> bool:
    return port_open("127.0.0.1", 1883)


@contextlib.asynccontextmanager
async def mqtt_messages(prefix: str) -> AsyncIterator[list[tuple[str, Any]]]:
    """Subscribe to ``prefix/#`` on the local broker; yields the (topic, JSON) list."""
    require(mqtt_available(), "Mosquitto on 127.0.0.1:1883")
    got: list[tuple[str, Any]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"t-{uuid.uuid4().hex}") as c:
            await c.subscribe(f"{prefix}/#", qos=1)
            ready.set()
            async for msg in c.messages:
                payload = msg.payload
                assert isinstance(payload, bytes | bytearray)
                got.append((str(msg.topic), json.loads(payload)))

    task = asyncio.create_task(listen())
    async with asyncio.timeout(10):
        await ready.wait()
    try:
        yield got
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


ALERTMANAGER = "prometheus-alertmanager"
_LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


@contextlib.asynccontextmanager
async def alertmanager(tmp: Path) -> AsyncIterator[str]:
    """Debian's Alertmanager on a loopback port of its own, clustering off; yields its URL.

    It listens on port 0 and the port is read back from its log ("Listening on"), so
    no port is picked and released for it.
    """
    binary = shutil.which(ALERTMANAGER) or shutil.which("alertmanager")
    require(binary is not None, "prometheus-alertmanager (Debian package)")
    assert binary is not None
    config = tmp / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n"
    )
    log_path = tmp / "alertmanager.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp / 'am-data'}",
                "--web.listen-address=127.0.0.1:0",
                "--cluster.listen-address=",
                "--log.level=info",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        port = None
        for _ in range(200):  # at most 10 s
            found = _LISTENING.search(log_path.read_text(errors="replace"))
            if found:
                port = int(found.group(1))
                break
            if proc.poll() is not None:
                raise AssertionError(f"alertmanager exited: {log_path.read_text()!r}")
            await asyncio.sleep(0.05)
        if port is None:
            raise AssertionError("alertmanager did not say where it listens within 10 s")
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(200):  # at most 10 s
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{url}/-/ready") as resp:
                        if resp.status == 200:
                            break
                if proc.poll() is not None:
                    raise AssertionError(f"alertmanager exited: {log_path.read_text()!r}")
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("alertmanager did not become ready in 10 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def alertmanager_alerts(url: str) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds (GET /api/v2/alerts)."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/api/v2/alerts") as resp:
        assert resp.status == 200
        data: list[dict[str, Any]] = await resp.json()
        return data
