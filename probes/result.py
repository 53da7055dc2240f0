"""The one Result type every probe returns, and the stable error classes."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from sla_engine.time.states import State


class ErrorClass(StrEnum):
    """Why a check failed; stable strings, used as metric labels and in the store."""

    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"
    UNREACHABLE = "unreachable"
    TLS = "tls"
    CERT_EXPIRED = "cert_expired"
    CERT_EXPIRING = "cert_expiring"
    PROTOCOL = "protocol"
    HTTP_STATUS = "http_status"
    REDIRECT_LOOP = "redirect_loop"
    TOO_LARGE = "too_large"
    ASSERTION = "assertion"
    LATENCY = "latency"
    PACKET_LOSS = "packet_loss"
    HEARTBEAT_MISSED = "heartbeat_missed"
    REPORTED_DOWN = "reported_down"
    CONFIG = "config"
    INTERNAL = "internal"


QUALITY_ERRORS = frozenset(
    {ErrorClass.ASSERTION, ErrorClass.CERT_EXPIRING, ErrorClass.CERT_EXPIRED}
)
"""Failures of a check that got an answer, but a wrong one (DESIGN.md's quality breaches)."""

_EMPTY: Mapping[str, float] = MappingProxyType({})


def new_result_id() -> str:
    """A unique result id: 32 hex digits, the first 12 the creation time in ms.

    Like a UUIDv7 (48-bit milliseconds, then 80 random bits): ids made later sort
    later, so the store's primary-key index grows at its end instead of at random
    places (cheaper inserts into a large results table, on SQLite and PostgreSQL).
    """
    return f"{time.time_ns() // 1_000_000:012x}{_random_hex()}"


_RANDOM_IDS_PER_READ = 400
_random_ids: list[str] = []
# A forked child draws its own: the parent's unused ids would be made twice.
os.register_at_fork(after_in_child=_random_ids.clear)


def _random_hex() -> str:
    # 80 random bits as 20 hex digits, from one read of the OS's random source per 400
    # ids: a getrandom() call per result cost more than the rest of making its id.
    # list.pop() is atomic, so ids stay unique when agents call this from threads.
    try:
        return _random_ids.pop()
    except IndexError:
        block = os.urandom(10 * _RANDOM_IDS_PER_READ).hex()
        _random_ids.extend(block[i : i + 20] for i in range(0, len(block), 20))
        return _random_ids.pop()


@dataclass(frozen=True, slots=True)
class Result:
    """One check of one monitor from one location at one instant.

    ``state`` is what this single check saw (UP, DEGRADED or DOWN); the engine
    confirms it over several checks before the monitor's state changes.
    ``metrics`` carries probe-specific figures under blackbox_exporter's names
    without the ``probe_`` prefix (``http_status_code``, ``ssl_earliest_cert_expiry``).
    A figure that blackbox_exporter labels by phase is keyed ``name:phase``
    (``http_duration_seconds:connect``, ``icmp_duration_seconds:rtt``): the part after
    the colon becomes the ``phase`` label.
    """

    monitor_id: str
    location: str
    at: datetime
    state: State
    latency: float
    error: ErrorClass | None = None
    detail: str = ""
    metrics: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    id: str = field(default_factory=new_result_id)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Result.at must be timezone-aware")
        if self.state not in (State.UP, State.DEGRADED, State.DOWN):
            raise ValueError(f"a check sees up, degraded or down, not {self.state}")

    @property
    def quality_failed(self) -> bool:
        """The service answered, but a content, JSON, header or certificate assertion failed."""
        return self.error in QUALITY_ERRORS

    @property
    def answered(self) -> bool:
        """The service answered (rightly or wrongly): not down for want of an answer."""
        return self.state is not State.DOWN or self.quality_failed

    @property
    def ok(self) -> bool:
        """True when the service answered (up or degraded)."""
        return self.state is not State.DOWN
