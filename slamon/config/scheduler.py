"""``[scheduler]`` and ``[confirmation]``: running probes here, and confirming states."""

from __future__ import annotations

from pydantic import (
    Field,
)

from slamon.config.common import MonitorId, Section


class SchedulerConfig(Section):
    """How probes are run from this process."""

    location: MonitorId = "local"
    concurrency: int = Field(default=256, ge=1, le=100_000)


class ConfirmationConfig(Section):
    """Default confirmation counts; a monitor may override them."""

    down_after: int = Field(default=3, ge=1, le=100)
    up_after: int = Field(default=2, ge=1, le=100)
