"""``[[maintenance]]``: scheduled windows, one-off or recurring."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    Field,
    model_validator,
)

from probes.durations import Duration
from sla_engine.time.recurrence import MaintenanceSchedule, check_cron
from slamon.config.common import MonitorId, Section, at_least, check_tz


class MaintenanceConfig(Section):
    """A scheduled maintenance: one-off (start, end) or recurring (cron, duration).

    Times without an offset, and cron lines, are read in ``timezone``.
    """

    id: MonitorId
    title: str
    description: str = ""
    components: list[MonitorId] = Field(min_length=1)
    start: datetime | None = None
    end: datetime | None = None
    cron: Annotated[str, AfterValidator(check_cron)] | None = None
    duration: Annotated[Duration, at_least(60, "s")] | None = None
    timezone: Annotated[str, AfterValidator(check_tz)] = "UTC"

    @model_validator(mode="after")
    def _one_off_or_recurring(self) -> Self:
        if self.cron is None:
            if self.start is None or self.end is None:
                raise ValueError("give start and end (one-off) or cron and duration (recurring)")
            if self.duration is not None:
                raise ValueError("duration: only with cron")
        elif self.duration is None:
            raise ValueError("duration: required with cron")
        start, end = self.local(self.start), self.local(self.end)
        if start is not None and end is not None and end <= start:
            raise ValueError("end: must be after start")
        return self

    def local(self, value: datetime | None) -> datetime | None:
        """``value`` made aware: a time without offset is read in ``timezone``."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=ZoneInfo(self.timezone))

    def schedule(self) -> MaintenanceSchedule:
        """The schedule this entry describes."""
        return MaintenanceSchedule(
            id=self.id,
            title=self.title,
            description=self.description,
            component_ids=tuple(self.components),
            start=self.local(self.start),
            end=self.local(self.end),
            cron=self.cron,
            duration=timedelta(seconds=self.duration) if self.duration is not None else None,
            timezone=self.timezone,
        )
