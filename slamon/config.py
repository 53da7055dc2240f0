"""Loading and validating ``config.toml``.

Every error names its TOML path (``monitors[2].interval: must be at least 1s``);
the CLI prints them all and exits with status 2. Secrets are written as
``${ENV_NAME}`` and read from the environment at load time.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from probes.dispatch import Check
from probes.durations import Duration
from probes.push import PushMonitor
from probes.registry import PROBE_TYPES
from sla_engine.confirmation import ConfirmPolicy
from sla_engine.recurrence import MaintenanceSchedule, check_cron
from slamon.notify.registry import NOTIFIER_TYPES

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
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
    }
)


class ConfigError(Exception):
    """The configuration is invalid; ``errors`` are lines ``path: what is wrong``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _at_least(minimum: float, unit: str) -> AfterValidator:
    def check(value: float) -> float:
        if value < minimum:
            raise ValueError(f"must be at least {minimum:g}{unit}")
        return value

    return AfterValidator(check)


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            "must be 1-64 characters of lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


MonitorId = Annotated[str, AfterValidator(_check_id)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    """The web server: status page, API, /metrics, /healthz."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    admin_token: SecretStr | None = None
    finance_token: SecretStr | None = None


class StoreConfig(_Section):
    """Where results and intervals are kept."""

    url: str = "sqlite+aiosqlite:///slamon.db"
    retention: Annotated[Duration, _at_least(7200, "s (2h: rollups are rebuilt from it)")] = (
        7 * 86400
    )
    batch_size: int = Field(default=2000, ge=1, le=100_000)
    flush_interval: Annotated[Duration, _at_least(0.01, "s")] = 0.5

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be a sqlite+aiosqlite:// or postgresql+asyncpg:// SQLAlchemy URL"
            )
        return value


class SchedulerConfig(_Section):
    """How probes are run from this process."""

    location: MonitorId = "local"
    concurrency: int = Field(default=256, ge=1, le=100_000)


class ConfirmationConfig(_Section):
    """Default confirmation counts; a monitor may override them."""

    down_after: int = Field(default=3, ge=1, le=100)
    up_after: int = Field(default=2, ge=1, le=100)


class StatusPageConfig(_Section):
    """What the public status page says about itself."""

    title: str = "Service status"
    description: str = ""
    timezone: str = "UTC"
    refresh: Annotated[Duration, _at_least(1, "s")] = 10

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class MonitorConfig(_Section):
    """One thing checked; the probe type's own settings sit beside these keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: MonitorId
    name: str = ""
    description: str = ""
    type: str
    target: str = ""
    interval: Annotated[Duration, _at_least(1, "s")] = 30
    timeout: Annotated[Duration, _at_least(0.05, "s")] | None = None
    public: bool = True
    down_after: int | None = Field(default=None, ge=1, le=100)
    up_after: int | None = Field(default=None, ge=1, le=100)
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
    def effective_timeout(self) -> float:
        """The timeout, defaulting to 10 s or the interval, whichever is shorter."""
        return self.timeout if self.timeout is not None else min(10.0, self.interval)

    def probe_settings(self) -> dict[str, Any]:
        """The keys that belong to the probe type's settings model."""
        extra = self.model_extra or {}
        return {k: v for k, v in extra.items() if k not in _COMMON_MONITOR_KEYS}


class ComponentConfig(_Section):
    """What the public sees: a named group of monitors, optionally in a group."""

    id: MonitorId
    name: str
    description: str = ""
    group: str = ""
    monitors: list[MonitorId] = Field(min_length=1)
    quorum: int | None = Field(default=None, ge=1)


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


class MaintenanceConfig(_Section):
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
    duration: Annotated[Duration, _at_least(60, "s")] | None = None
    timezone: Annotated[str, AfterValidator(_check_tz)] = "UTC"

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


class AlertsConfig(_Section):
    """How slamon evaluates its own alerts."""

    evaluation_interval: Annotated[Duration, _at_least(1, "s")] = 30
    cert_expiry_warning: Annotated[Duration, _at_least(0, "s")] = 14 * 86400
    cert_expiry_critical: Annotated[Duration, _at_least(0, "s")] = 3 * 86400
    forecast_horizon: Annotated[Duration, _at_least(60, "s")] = 72 * 3600
    incident_group_window: Annotated[Duration, _at_least(0, "s")] = 15 * 60
    resend_interval: Annotated[Duration, _at_least(1, "s")] = 60
    external_url: str = ""


class SLOConfig(_Section):
    """An internal availability target on a component or a set of monitors."""

    id: MonitorId
    name: str = ""
    component: MonitorId | None = None
    monitors: list[MonitorId] | None = None
    target: Decimal = Field(gt=0, lt=100)
    window: Annotated[Duration, _at_least(3600, "s")] = 30 * 86400

    @model_validator(mode="after")
    def _subject(self) -> Self:
        if (self.component is None) == (self.monitors is None):
            raise ValueError("give either component or monitors")
        if self.monitors is not None and not self.monitors:
            raise ValueError("monitors: name at least one monitor")
        return self

    @property
    def display_name(self) -> str:
        """The name; the id when none is given."""
        return self.name or self.id


class NotifierConfig(_Section):
    """Where alerts and incident events go; the type's own keys sit beside these."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: MonitorId
    type: str
    events: list[Literal["alerts", "incidents"]] = Field(default=["alerts"], min_length=1)
    queue_size: int = Field(default=1000, ge=1, le=1_000_000)
    timeout: Annotated[Duration, _at_least(0.05, "s")] = 10
    retries: int = Field(default=5, ge=0, le=100)
    backoff: Annotated[Duration, _at_least(0.01, "s")] = 1
    settings: Any = None

    @field_validator("settings", mode="before")
    @classmethod
    def _no_settings_key(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("write the notifier's settings beside id and type")
        return value

    def type_settings(self) -> dict[str, Any]:
        """The keys that belong to the notifier type's settings model."""
        return dict(self.model_extra or {})


class Config(_Section):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    confirmation: ConfirmationConfig = ConfirmationConfig()
    statuspage: StatusPageConfig = StatusPageConfig()
    monitors: list[MonitorConfig] = Field(default_factory=list)
    components: list[ComponentConfig] = Field(default_factory=list)
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    alerts: AlertsConfig = AlertsConfig()
    slos: list[SLOConfig] = Field(default_factory=list)
    notifiers: list[NotifierConfig] = Field(default_factory=list)

    def effective_components(self) -> list[ComponentConfig]:
        """The configured components; without any, one per public monitor."""
        if self.components:
            return list(self.components)
        return [
            ComponentConfig(
                id=m.id, name=m.display_name, description=m.description, monitors=[m.id]
            )
            for m in self.monitors
            if m.public
        ]

    def policy_for(self, monitor: MonitorConfig) -> ConfirmPolicy:
        """The confirmation policy of ``monitor``, defaults filled in."""
        return ConfirmPolicy(
            down_after=monitor.down_after or self.confirmation.down_after,
            up_after=monitor.up_after or self.confirmation.up_after,
        )

    def checks(self) -> list[Check]:
        """A Check per scheduled monitor (all but push), ready for the scheduler."""
        return [
            Check(
                monitor_id=m.id,
                type=m.type,
                target=m.target,
                interval=m.interval,
                timeout=m.effective_timeout,
                settings=m.settings,
            )
            for m in self.monitors
            if PROBE_TYPES[m.type].scheduled
        ]

    def push_monitors(self) -> list[PushMonitor]:
        """The push monitors, each with its configured or a fresh random token."""
        return [
            PushMonitor.make(m.id, m.interval, m.settings)
            for m in self.monitors
            if m.type == "push"
        ]


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``('monitors', 2, 'interval')`` as ``monitors[2].interval``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _messages(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[str]:
    lines = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = prefix + tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        # "target: ..." raised by a model validator belongs to that field.
        field, sep, rest = msg.partition(": ")
        if (
            sep
            and field in {"target", "timeout", "duration", "end"}
            and (not loc or loc[-1] != field)
        ):
            loc, msg = (*loc, field), rest
        lines.append(f"{format_loc(loc)}: {msg}")
    return lines


def expand_env(
    value: Any,
    env: Mapping[str, str],
    errors: list[str],
    path: tuple[str | int, ...] = (),
) -> Any:
    """Replace ``${NAME}`` in every string with the environment's value.

    A variable that is not set is reported in ``errors`` under its TOML path.
    """
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                errors.append(f"{format_loc(path)}: environment variable {name} is not set")
                return ""
            return env[name]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, env, errors, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, errors, (*path, i)) for i, v in enumerate(value)]
    return value


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate parsed TOML; raise ConfigError listing every problem."""
    errors: list[str] = []
    data = expand_env(dict(data), os.environ if env is None else env, errors)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(errors + _messages(exc)) from None
    monitors = []
    first_use: dict[str, int] = {}
    for i, monitor in enumerate(config.monitors):
        if monitor.id in first_use:
            first = first_use[monitor.id]
            errors.append(f"monitors[{i}].id: {monitor.id!r} is already used by monitors[{first}]")
        first_use.setdefault(monitor.id, i)
        model = PROBE_TYPES[monitor.type].settings
        try:
            settings = model.model_validate(monitor.probe_settings())
        except ValidationError as exc:
            errors.extend(_messages(exc, ("monitors", i)))
            continue
        monitors.append(monitor.model_copy(update={"settings": settings}))
    component_ids: dict[str, int] = {}
    for i, component in enumerate(config.components):
        if component.id in component_ids:
            first = component_ids[component.id]
            errors.append(
                f"components[{i}].id: {component.id!r} is already used by components[{first}]"
            )
        component_ids.setdefault(component.id, i)
        for j, monitor_id in enumerate(component.monitors):
            if monitor_id not in first_use:
                errors.append(
                    f"components[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}"
                )
        if component.quorum is not None and component.quorum > len(component.monitors):
            errors.append(
                f"components[{i}].quorum: {component.quorum} is more than its "
                f"{len(component.monitors)} monitors"
            )
    _check_operations(config, errors)
    notifiers = _check_notifiers(config, errors)
    if errors:
        raise ConfigError(errors)
    return config.model_copy(update={"monitors": monitors, "notifiers": notifiers})


def _check_notifiers(config: Config, errors: list[str]) -> list[NotifierConfig]:
    """Validate each notifier's own settings with its type's model."""
    out = []
    seen: dict[str, int] = {}
    for i, notifier in enumerate(config.notifiers):
        if notifier.id in seen:
            errors.append(
                f"notifiers[{i}].id: {notifier.id!r} is already used by "
                f"notifiers[{seen[notifier.id]}]"
            )
        seen.setdefault(notifier.id, i)
        kind = NOTIFIER_TYPES.get(notifier.type)
        if kind is None:
            errors.append(
                f"notifiers[{i}].type: unknown notifier type {notifier.type!r}; "
                f"known: {', '.join(NOTIFIER_TYPES)}"
            )
            continue
        try:
            settings = kind.settings.model_validate(notifier.type_settings())
        except ValidationError as exc:
            errors.extend(_messages(exc, ("notifiers", i)))
            continue
        out.append(notifier.model_copy(update={"settings": settings}))
    return out


def _check_operations(config: Config, errors: list[str]) -> None:
    """Cross-references of the maintenance, SLO and notifier sections."""
    components = {c.id for c in config.effective_components()}
    seen: dict[str, int] = {}
    for i, entry in enumerate(config.maintenance):
        if entry.id in seen:
            errors.append(
                f"maintenance[{i}].id: {entry.id!r} is already used by "
                f"maintenance[{seen[entry.id]}]"
            )
        seen.setdefault(entry.id, i)
        for j, component_id in enumerate(entry.components):
            if component_id not in components:
                errors.append(
                    f"maintenance[{i}].components[{j}]: no component has the id {component_id!r}"
                )
    monitor_ids = {m.id for m in config.monitors}
    slo_ids: dict[str, int] = {}
    for i, slo in enumerate(config.slos):
        if slo.id in slo_ids:
            errors.append(f"slos[{i}].id: {slo.id!r} is already used by slos[{slo_ids[slo.id]}]")
        slo_ids.setdefault(slo.id, i)
        if slo.component is not None and slo.component not in components:
            errors.append(f"slos[{i}].component: no component has the id {slo.component!r}")
        for j, monitor_id in enumerate(slo.monitors or ()):
            if monitor_id not in monitor_ids:
                errors.append(f"slos[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}")


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; raise ConfigError on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return parse_config(data, env)
