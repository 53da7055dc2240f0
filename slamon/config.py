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
from probes.registry import PROBE_TYPES
from sla_engine.confirmation import ConfirmPolicy
from sla_engine.quorum import default_quorum

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
        "locations",
        "quorum",
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
    # Results waiting for the database beyond this are dropped, oldest first.
    max_pending: int = Field(default=500_000, ge=100, le=100_000_000)

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


class BusConfig(_Section):
    """How results travel from probes to the engine: in-process, or over MQTT."""

    kind: Literal["inprocess", "mqtt"] = "inprocess"
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    topic_prefix: str = "slamon/v1"
    client_id: str = "slamon-engine"
    # Locations whose agents may publish results; monitors default to all of them.
    locations: list[MonitorId] = Field(default_factory=list)
    silent_after: float = Field(default=3.0, ge=1.0, le=1000.0)
    max_message_bytes: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    clock_skew_tolerance: Annotated[Duration, _at_least(0, "s")] = 2
    # An agent's skew is corrected only once measured over this much receive time.
    clock_settle: Annotated[Duration, _at_least(0, "s")] = 30
    max_clock_skew: Annotated[Duration, _at_least(1, "s")] = 3600
    receive_maximum: int = Field(default=65535, ge=1, le=65535)
    session_expiry: Annotated[Duration, _at_least(60, "s")] = 7 * 86400

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        parts = value.split("/")
        if not value or any(not p or p.startswith("$") or set(p) & set("+#") for p in parts):
            raise ValueError(
                "must be topic levels separated by '/', none empty, without '+', '#' or "
                "a leading '$'"
            )
        return value

    @model_validator(mode="after")
    def _mqtt_needs_locations(self) -> Self:
        if self.kind == "mqtt" and not self.locations:
            raise ValueError("locations: list the agent locations allowed to publish results")
        if len(set(self.locations)) != len(self.locations):
            raise ValueError("locations: each location may be listed once")
        return self


class AgentConfig(_Section):
    """A probe agent (``slamon agent``): its on-disk buffer and broker identity."""

    spool: str = "slamon-agent-{location}.db"
    spool_max: int = Field(default=1_000_000, ge=100, le=100_000_000)
    client_id: str = "slamon-agent-{location}"


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


class Config(_Section):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    confirmation: ConfirmationConfig = ConfirmationConfig()
    bus: BusConfig = BusConfig()
    agent: AgentConfig = AgentConfig()
    statuspage: StatusPageConfig = StatusPageConfig()
    monitors: list[MonitorConfig] = Field(default_factory=list)
    components: list[ComponentConfig] = Field(default_factory=list)

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

    def locations_for(self, monitor: MonitorConfig) -> list[str]:
        """Where ``monitor`` is checked from: this process, or its agents' locations."""
        if self.bus.kind == "inprocess":
            return [self.scheduler.location]
        return list(monitor.locations or self.bus.locations)

    def quorum_for(self, monitor: MonitorConfig) -> int:
        """How many of its locations must agree: configured, or a strict majority."""
        n = len(self.locations_for(monitor))
        return min(monitor.quorum or default_quorum(n), n)

    def checks(self, location: str | None = None) -> list[Check]:
        """A Check per monitor (checked from ``location``, if given), for the scheduler."""
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
            if location is None or location in self.locations_for(m)
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
        if sep and field in {"target", "timeout", "locations"} and (not loc or loc[-1] != field):
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
        if config.bus.kind == "mqtt":
            for j, loc in enumerate(monitor.locations or ()):
                if loc not in config.bus.locations:
                    errors.append(f"monitors[{i}].locations[{j}]: {loc!r} is not in bus.locations")
        n = len(monitor.locations or config.bus.locations) if config.bus.kind == "mqtt" else 1
        if monitor.quorum is not None and monitor.quorum > n:
            errors.append(f"monitors[{i}].quorum: {monitor.quorum} is more than its {n} locations")
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
    if errors:
        raise ConfigError(errors)
    return config.model_copy(update={"monitors": monitors})


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
