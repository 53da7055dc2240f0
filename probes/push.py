"""Push (heartbeat) monitors: a job calls slamon; silence past interval + grace is down.

Push monitors are not probed on a schedule. The web server's ``/push/<token>``
handler turns each call into a Result, and a watchdog turns each missed deadline
into a down Result; this module holds what both need: the settings, constant-time
token matching and the deadlines. The shell (``slamon.web.push``) does the clock, the
web and the bus.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from probes.context import ProbeContext
from probes.durations import Duration
from probes.errors import ProbeError
from probes.result import ErrorClass, Result


class Settings(BaseModel):
    """The token the job calls with (random when unset) and the grace after each interval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr | None = None
    grace: Duration = 60.0

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            if len(text) < 16 or not all(c.isalnum() or c in "-_.~" for c in text):
                raise ValueError(
                    "must be at least 16 characters of letters, digits, '-', '_', '.' or '~'"
                )
        return value


def parse_target(target: str) -> str:
    """A push monitor has no target: it is called."""
    if target.strip():
        raise ValueError("a push monitor has no target; jobs call /push/<token>")
    return ""


async def probe(ctx: ProbeContext, target: str, settings: Settings) -> Result:
    """Never scheduled (``scheduled=False`` in the registry); a call is a wiring bug."""
    raise ProbeError(ErrorClass.CONFIG, "push monitors are called, not probed")


@dataclass(frozen=True, slots=True)
class PushMonitor:
    """One push monitor: who it is, the token it is called with, and its deadline rule."""

    monitor_id: str
    token: str
    interval: float
    grace: float
    generated: bool = False

    @classmethod
    def make(cls, monitor_id: str, interval: float, settings: Settings) -> PushMonitor:
        """From config: the configured token, or a fresh random one."""
        if settings.token is not None:
            return cls(monitor_id, settings.token.get_secret_value(), interval, settings.grace)
        return cls(monitor_id, secrets.token_urlsafe(24), interval, settings.grace, True)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class Heartbeats:
    """Deadlines of every push monitor, on a monotonic clock the caller passes in."""

    def __init__(self, monitors: Iterable[PushMonitor], now: float) -> None:
        self.monitors = {m.monitor_id: m for m in monitors}
        # Looking up by a hash of the token leaks nothing useful about the token through
        # timing; the final comparison is constant-time as well.
        self._by_digest = {_digest(m.token): m for m in self.monitors.values()}
        self.deadlines = {m.monitor_id: now + m.interval + m.grace for m in self.monitors.values()}

    def update(self, monitors: Iterable[PushMonitor], now: float) -> None:
        """A new set of monitors: one equal to a current one keeps its deadline."""
        old, old_deadlines = self.monitors, self.deadlines
        self.monitors = {m.monitor_id: m for m in monitors}
        self._by_digest = {_digest(m.token): m for m in self.monitors.values()}
        self.deadlines = {
            m.monitor_id: old_deadlines[m.monitor_id]
            if old.get(m.monitor_id) == m
            else now + m.interval + m.grace
            for m in self.monitors.values()
        }

    def match(self, token: str) -> PushMonitor | None:
        """The monitor whose token this is, compared in constant time."""
        monitor = self._by_digest.get(_digest(token))
        if monitor is None or not hmac.compare_digest(
            monitor.token.encode("utf-8", "surrogateescape"),
            token.encode("utf-8", "surrogateescape"),
        ):
            return None
        return monitor

    def beat(self, monitor_id: str, now: float) -> None:
        """A call arrived: the next one is due within interval + grace."""
        m = self.monitors[monitor_id]
        self.deadlines[monitor_id] = now + m.interval + m.grace

    def overdue(self, now: float) -> list[PushMonitor]:
        """Monitors past their deadline; each is due again one interval later."""
        late = []
        for monitor_id, deadline in self.deadlines.items():
            if deadline <= now:
                m = self.monitors[monitor_id]
                late.append(m)
                self.deadlines[monitor_id] = now + m.interval
        return late

    def next_deadline(self) -> float | None:
        """The earliest deadline, if there are push monitors."""
        return min(self.deadlines.values(), default=None)
