"""Occurrences of a recurring maintenance window: a cron expression in an IANA zone.

The cron expression is matched against the local wall clock of the zone (cronsim does
the matching on naive wall times); each match becomes one instant by this rule:

* A wall time that exists once is that instant.
* A wall time in a spring-forward gap (02:30 in Europe/Oslo on the last Sunday of
  March) moves forward by the length of the gap, to the instant it would have been
  without the change: 02:00 becomes 03:00 CEST, 02:30 becomes 03:30 CEST. The window
  is not skipped, as Vixie cron does not skip such a job.
* A wall time that happens twice on a fall-back day (02:30 on the last Sunday of
  October) is the first of the two (still summer time), once. Vixie cron does the
  same for fixed-time jobs.

The duration is elapsed time: a 1 h window that starts 02:00 CEST on a fall-back day
ends at the second 02:00 (CET), one real hour later, because the work it covers takes
real time. Matches that land on the same instant (02:30 and 03:30 on a spring-forward
day) give one occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from sla_engine.incidents import MaintenanceWindow
from sla_engine.time.intervals import Interval
from sla_engine.time.periods import zone

# A zone's offset changes by at most a few hours; search this far beyond the window.
_SLACK = timedelta(days=1)
MAX_OCCURRENCES = 100_000


def check_cron(expression: str) -> str:
    """Return ``expression`` if cronsim accepts it as a five-field cron line, else raise."""
    if len(expression.split()) != 5:
        raise ValueError("must have five fields: minute hour day-of-month month day-of-week")
    try:
        CronSim(expression, datetime(2000, 1, 1))  # noqa: DTZ001 - cron works on wall time
    except CronSimError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    return expression


def wall_to_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall time, by the module's DST rule."""
    if wall.tzinfo is not None:
        raise ValueError("wall time must be naive")
    # fold=0 reads a repeated wall time as its first occurrence, and a wall time in a
    # gap with the offset from before the change: the instant it would have been.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def occurrences(expression: str, duration: timedelta, tz: str, window: Interval) -> list[Interval]:
    """Every occurrence ``[start, start + duration)`` that overlaps ``window``, by start.

    Raises ValueError when the expression is invalid, the duration is not positive, or
    more than MAX_OCCURRENCES start in the window.
    """
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    check_cron(expression)
    local = zone(tz)
    first = window.start - duration - _SLACK
    last = window.end + _SLACK
    wall_first = first.astimezone(local).replace(tzinfo=None)
    starts: set[datetime] = set()
    for count, wall in enumerate(CronSim(expression, wall_first)):
        start = wall_to_instant(wall, local)
        if start >= last:
            break
        if count >= MAX_OCCURRENCES:
            raise ValueError(f"{expression!r} starts more than {MAX_OCCURRENCES} windows")
        if start < window.end and start + duration > window.start:
            starts.add(start)
    return [Interval(s, s + duration) for s in sorted(starts)]


@dataclass(frozen=True, slots=True)
class MaintenanceSchedule:
    """A maintenance as configured or stored: one-off, or recurring by cron.

    One-off: ``start`` and ``end``. Recurring: ``cron``, ``duration`` and ``timezone``;
    then ``start`` and ``end`` (either may be None) bound when occurrences may begin.
    """

    id: str
    title: str
    description: str
    component_ids: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration: timedelta | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        for bound in (self.start, self.end):
            if bound is not None and bound.tzinfo is None:
                raise ValueError("maintenance bounds must be timezone-aware")
        if self.cron is None:
            if self.start is None or self.end is None:
                raise ValueError("a one-off maintenance needs start and end")
            if self.end <= self.start:
                raise ValueError("maintenance must end after it starts")
            if self.duration is not None:
                raise ValueError("duration belongs to a recurring maintenance (with cron)")
        else:
            check_cron(self.cron)
            zone(self.timezone)
            if self.duration is None or self.duration <= timedelta(0):
                raise ValueError("a recurring maintenance needs a positive duration")
            if self.start is not None and self.end is not None and self.end <= self.start:
                raise ValueError("maintenance must end after it starts")

    @property
    def recurring(self) -> bool:
        """True for a cron schedule."""
        return self.cron is not None

    def windows(self, window: Interval) -> list[MaintenanceWindow]:
        """The occurrences that overlap ``window``, by start.

        A recurring occurrence is named ``<id>@<start as UTC ISO 8601>``.
        """
        if self.cron is None:
            assert self.start is not None
            assert self.end is not None
            if self.start < window.end and self.end > window.start:
                return [self._window(self.id, self.start, self.end)]
            return []
        assert self.duration is not None
        found = occurrences(self.cron, self.duration, self.timezone, window)
        out = []
        for iv in found:
            if self.start is not None and iv.start < self.start:
                continue
            if self.end is not None and iv.start >= self.end:
                continue
            name = f"{self.id}@{iv.start.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            out.append(self._window(name, iv.start, iv.end))
        return out

    def _window(self, name: str, start: datetime, end: datetime) -> MaintenanceWindow:
        return MaintenanceWindow(
            id=name,
            title=self.title,
            description=self.description,
            component_ids=self.component_ids,
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
        )
