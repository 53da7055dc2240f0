"""Push monitors: ``/push/<token>`` calls become Results, silence becomes down.

Design: a push monitor is not probed. ``/push/<token>`` publishes a Result for every
call (up, or down when the job says ``status=down``), and one watchdog task publishes
a down Result when a monitor's deadline (interval + grace after the last call)
passes, then again every interval while it stays silent, so confirmation counts
missed heartbeats the way it counts failed checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from aiohttp import web

from probes.push import Heartbeats, PushMonitor
from probes.result import ErrorClass, Result
from sla_engine.time.states import State

log = logging.getLogger("slamon.push")


class PushService:
    """Receives heartbeats and watches their deadlines; results go to ``publish``."""

    def __init__(
        self,
        monitors: Iterable[PushMonitor],
        *,
        location: str,
        publish: Callable[[Result], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = location
        self._publish = publish
        self._clock = clock
        self.book = Heartbeats(monitors, clock())
        self._wake = asyncio.Event()

    def reconfigure(self, monitors: Iterable[PushMonitor]) -> None:
        """A reloaded set of push monitors; an unchanged one keeps its token and deadline."""
        self.book.update(monitors, self._clock())
        self._wake.set()

    def __bool__(self) -> bool:
        return bool(self.book.monitors)

    def log_generated_tokens(self) -> None:
        """Say which monitors got a random token, so that jobs can be pointed at it."""
        for m in self.book.monitors.values():
            if m.generated:
                log.warning(
                    "push monitor %s has no token in the config; for this run it is "
                    '/push/%s (set token = "${...}" to keep one across restarts)',
                    m.monitor_id,
                    m.token,
                    extra={"monitor": m.monitor_id, "location": self.location},
                )

    def receive(
        self, token: str, *, down: bool = False, message: str = "", latency: float = 0.0
    ) -> Result | None:
        """A call to ``/push/<token>``: publish and return its Result; None if unknown."""
        monitor = self.book.match(token)
        if monitor is None:
            return None
        self.book.beat(monitor.monitor_id, self._clock())
        result = Result(
            monitor_id=monitor.monitor_id,
            location=self.location,
            at=datetime.now(UTC),
            state=State.DOWN if down else State.UP,
            latency=latency,
            error=ErrorClass.REPORTED_DOWN if down else None,
            detail=message[:200] if message else ("the job reported a failure" if down else ""),
        )
        self._publish(result)
        return result

    def check_deadlines(self) -> list[Result]:
        """Publish a down Result for every monitor past its deadline; return them."""
        now = self._clock()
        out = []
        for m in self.book.overdue(now):
            result = Result(
                monitor_id=m.monitor_id,
                location=self.location,
                at=datetime.now(UTC),
                state=State.DOWN,
                latency=0.0,
                error=ErrorClass.HEARTBEAT_MISSED,
                detail=f"no call within {m.interval + m.grace:g}s",
            )
            self._publish(result)
            out.append(result)
        return out

    async def watch(self) -> None:
        """Check deadlines until cancelled, sleeping until the earliest one.

        A call only moves a deadline later, so sleeping until the earliest deadline
        seen before it is never too late.
        """
        while True:
            self.check_deadlines()
            nxt = self.book.next_deadline()
            delay = 3600.0 if nxt is None else nxt - self._clock()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(max(delay, 0.01), 3600.0)):
                    await self._wake.wait()  # or a reload changed the monitors


async def push_call(request: web.Request) -> web.Response:
    """A heartbeat from a job: ``/push/<token>[?status=down&msg=...&ping=ms]``."""
    service = request.app[PUSH]
    status = request.query.get("status", "up").lower()
    if status not in {"up", "down", "ok", "fail"}:
        return web.json_response({"ok": False, "error": "status must be up or down"}, status=400)
    try:
        latency = max(float(request.query.get("ping", "0")), 0.0) / 1000
    except ValueError:
        return web.json_response({"ok": False, "error": "ping must be milliseconds"}, status=400)
    result = (
        service.receive(
            request.match_info["token"],
            down=status in {"down", "fail"},
            message=request.query.get("msg", ""),
            latency=latency,
        )
        if service is not None
        else None
    )
    if result is None:
        return web.json_response({"ok": False, "error": "unknown token"}, status=404)
    return web.json_response({"ok": True, "monitor": result.monitor_id, "state": result.state})


PUSH: web.AppKey[PushService | None] = web.AppKey("push")


def add_push_routes(app: web.Application, service: PushService | None) -> None:
    """``/push/<token>``, by GET or POST, answered by ``service`` (None: every token unknown)."""
    app[PUSH] = service
    app.router.add_route("GET", "/push/{token}", push_call)
    app.router.add_route("POST", "/push/{token}", push_call)
