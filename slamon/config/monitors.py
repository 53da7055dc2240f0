"""``[[monitors]]``: what is checked; the probe type's settings sit beside the common keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from probes.durations import Duration
from probes.registry import PROBE_TYPES
from slamon.config.common import MonitorId, Section, at_least, error_lines, format_loc

if TYPE_CHECKING:
    from slamon.config.bus import BusConfig

_COMMON_MONITOR_KEYS = frozenset(
    {
        "id",
        "name",
        "description",
        "type",
        "target",
        "interval",
        "timeout",
        "public",
        "down_after",
        "up_after",
        "locations",
        "quorum",
    }
)


class MonitorConfig(Section):
    """One thing checked; the probe type's own settings sit beside these keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: MonitorId
    name: str = ""
    description: str = ""
    type: str
    target: str = ""
    interval: Annotated[Duration, at_least(1, "s")] = 30
    timeout: Annotated[Duration, at_least(0.05, "s")] | None = None
    public: bool = True
    down_after: int | None = Field(default=None, ge=1, le=100)
    up_after: int | None = Field(default=None, ge=1, le=100)
    locations: list[MonitorId] | None = Field(default=None, min_length=1)
    quorum: int | None = Field(default=None, ge=1)
    settings: Any = None

    @field_validator("settings", mode="before")
    @classmethod
    def _no_settings_key(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("write the probe's settings beside id and type, not under 'settings'")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in PROBE_TYPES:
            raise ValueError(f"unknown probe type {value!r}; known: {', '.join(PROBE_TYPES)}")
        return value

    @model_validator(mode="after")
    def _target_and_timeout(self) -> Self:
        try:
            PROBE_TYPES[self.type].parse_target(self.target)
        except ValueError as exc:
            raise ValueError(f"target: {exc}") from None
        if self.timeout is not None and self.timeout > self.interval:
            raise ValueError("timeout: must not be longer than the interval")
        return self

    @property
    def display_name(self) -> str:
        """The public name; the id when none is given."""
        return self.name or self.id

    @property
    def covered_seconds(self) -> float:
        """Seconds one result speaks for: the interval; a push heartbeat's adds its grace."""
        grace = getattr(self.settings, "grace", None) if self.type == "push" else None
        return self.interval + float(grace) if grace is not None else self.interval

    @property
    def effective_timeout(self) -> float:
        """The timeout, defaulting to 10 s or the interval, whichever is shorter."""
        return self.timeout if self.timeout is not None else min(10.0, self.interval)

    def probe_settings(self) -> dict[str, Any]:
        """The keys that belong to the probe type's settings model."""
        extra = self.model_extra or {}
        return {k: v for k, v in extra.items() if k not in _COMMON_MONITOR_KEYS}


def check_monitor(
    bus: BusConfig,
    monitor: MonitorConfig,
    where: tuple[str | int, ...],
    errors: list[str],
    settings: BaseModel | None = None,
) -> MonitorConfig | None:
    """``monitor`` with its probe settings validated; None (and ``errors``) if invalid.

    ``where`` is the monitor's TOML path (or file and entry) that errors start with.
    ``settings``, when given, were validated already (the same for many monitors).
    """
    if settings is None:
        try:
            settings = PROBE_TYPES[monitor.type].settings.model_validate(monitor.probe_settings())
        except ValidationError as exc:
            errors.extend(error_lines(exc, where))
            return None
    path = format_loc(where)
    if bus.kind == "mqtt":
        for j, loc in enumerate(monitor.locations or ()):
            if loc not in bus.locations:
                errors.append(f"{path}.locations[{j}]: {loc!r} is not in bus.locations")
    n = len(monitor.locations or bus.locations) if bus.kind == "mqtt" else 1
    if monitor.quorum is not None and monitor.quorum > n:
        errors.append(f"{path}.quorum: {monitor.quorum} is more than its {n} locations")
    return monitor.model_copy(update={"settings": settings})
