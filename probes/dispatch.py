"""Run one check: apply the hard timeout and turn every exception into a Result."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pydantic import BaseModel

from probes.context import ProbeContext
from probes.errors import classify, release
from probes.registry import PROBE_TYPES
from probes.resources import ProbeResources
from probes.result import ErrorClass, Result

log = logging.getLogger("slamon.probes")


@dataclass(frozen=True, slots=True)
class Check:
    """Everything needed to check one monitor: validated once, run many times."""

    monitor_id: str
    type: str
    target: str
    interval: float
    timeout: float
    settings: BaseModel

    def __post_init__(self) -> None:
        if self.type not in PROBE_TYPES:
            raise ValueError(f"unknown probe type {self.type!r}")
        if self.timeout <= 0 or self.interval <= 0:
            raise ValueError("interval and timeout must be positive")


async def run_check(check: Check, location: str, resources: ProbeResources) -> Result:
    """Run ``check`` under its timeout; whatever the target does, return a Result."""
    ctx = ProbeContext(check.monitor_id, location, check.timeout, resources)
    probe = PROBE_TYPES[check.type].probe
    try:
        async with asyncio.timeout(check.timeout):
            return await probe(ctx, check.target, check.settings)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        error, detail = classify(exc)
        if error is ErrorClass.INTERNAL:
            log.warning(
                "probe raised unexpectedly",
                extra={"monitor": check.monitor_id, "location": location},
                exc_info=exc,
            )
        # The traceback's frames hold the exception again (futures, protocols, a kept
        # OSError): break the cycle here rather than leave it to a rarely-run collector.
        release(exc)
        return ctx.down(error, detail)
