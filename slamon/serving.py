"""Serving until told to stop: bind first, start, reload on SIGHUP, stop on SIGTERM.

The listening sockets are bound before anything starts, so a busy port is one clear
line and exit status 2, with no database touched and no traceback. SIGTERM and SIGINT
stop gracefully (see ``app.stop``): probing stops, checks in flight finish, the writer
flushes, and the process exits 0 within 10 s. SIGHUP reloads the config.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = logging.getLogger("slamon")

# Requests still running when a stop begins get this long before they are cut off.
REQUEST_GRACE = 2.0


class ListenError(Exception):
    """The address cannot be listened on; ``str()`` is the one line to print."""


def listen(host: str, port: int, backlog: int = 128) -> list[socket.socket]:
    """Bound, listening sockets for every address ``host`` resolves to; ListenError."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    out: list[socket.socket] = []
    seen = set()
    try:
        for family, kind, proto, _name, addr in infos:
            if (family, addr) in seen:
                continue
            seen.add((family, addr))
            sock = socket.socket(family, kind, proto)
            out.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                ip, at = str(addr[0]), int(addr[1])
                where = f"[{ip}]:{at}" if family == socket.AF_INET6 else f"{ip}:{at}"
                raise ListenError(f"cannot listen on {where}: {exc.strerror or exc}") from None
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in out:
            sock.close()
        raise
    return out


def address(sock: socket.socket) -> str:
    """``http://host:port/`` of a listening socket."""
    host, port = sock.getsockname()[:2]
    return (
        f"http://[{host}]:{port}/" if sock.family == socket.AF_INET6 else f"http://{host}:{port}/"
    )


async def serve(
    app: web.Application,
    sockets: list[socket.socket],
    *,
    on_reload: Callable[[], Awaitable[object]] | None = None,
    started: Callable[[], None] | None = None,
) -> None:
    """Run ``app`` on ``sockets`` until SIGTERM or SIGINT; ``on_reload`` at each SIGHUP."""
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=REQUEST_GRACE
    )
    stopping = asyncio.Event()
    reloads: set[asyncio.Task[object]] = set()

    def hup() -> None:
        if on_reload is None:
            log.warning("SIGHUP: this process has no config file to reload")
            return
        task: asyncio.Task[object] = asyncio.ensure_future(on_reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, hup)
    try:
        await runner.setup()
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        for sock in sockets:
            log.info("serving %s", address(sock))
        if started is not None:
            started()
        await stopping.wait()
        log.info("stopping: finishing checks in flight and writing what is queued")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for task in list(reloads):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await runner.cleanup()
