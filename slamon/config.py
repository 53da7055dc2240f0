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
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
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
from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
)
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.quorum import default_quorum
from sla_engine.contracts import Contract, LatencyObjective, PeriodRule, SLIKind
from sla_engine.money.credits import CreditTerms, Tier
from sla_engine.money.currencies import minor_units
from sla_engine.slis.incident_response import ResponseLimits
from sla_engine.time.recurrence import MaintenanceSchedule, check_cron
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
    # Serve the agent's own /metrics (spool depth, published, refused) on this port.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)


class ConfirmationConfig(_Section):
    """Default confirmation counts; a monitor may override them."""

    down_after: int = Field(default=3, ge=1, le=100)
    up_after: int = Field(default=2, ge=1, le=100)


class StatusPageConfig(_Section):
    """What the public status page says about itself, and where its files go.

    ``refresh`` is how often the running service rebuilds the site (it also rebuilds
    on every state change); ``output``, when set, is the folder it writes the site
    to; ``url`` is the page's public address, used for absolute links in the feed
    and the JSON. ``render_worker`` is where a rebuild computes and renders:
    ``process`` is a separate process at a lower CPU priority, so that a large site
    never takes CPU from ingestion; ``thread`` is in the service's own process;
    ``auto`` (the default) is a process from 200 components on.
    """

    title: str = "Service status"
    render_worker: Literal["auto", "process", "thread"] = "auto"
    description: str = ""
    timezone: str = "UTC"
    refresh: Annotated[Duration, _at_least(1, "s")] = 10
    language: Literal["en", "nb"] = "en"
    url: str = ""
    output: str = ""

    @field_validator("url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be the page's public http(s):// address, or empty")
        return value

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


def _exact_decimal(value: Any) -> Decimal:
    """A decimal written as a string or an integer; floats are refused (they lose cents)."""
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, not a boolean")
    if isinstance(value, float):
        raise ValueError(
            f'write decimals as strings, e.g. "{value!r}": a TOML float is binary and '
            "cannot hold every decimal exactly (money would lose cents)"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            out = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if out.is_finite():
            return out
        raise ValueError(f"must be a finite number, got {value!r}")
    raise ValueError(f"expected a decimal number as a string, got {value!r}")


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]
"""A Decimal written in TOML as ``"99.95"`` (or an integer); never a float."""


def _percent(value: Decimal) -> Decimal:
    if not 0 <= value <= 100:
        raise ValueError(f"must be a percent within 0..100, got {value}")
    return value


Percent = Annotated[ExactDecimal, AfterValidator(_percent)]

ROUNDING_NAMES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}


class TierConfig(_Section):
    """A credit tier: ``credit_percent`` when availability is strictly below ``below``."""

    below: Percent
    credit_percent: Percent


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


class ContractConfig(_Section):
    """A customer's SLA (or an internal SLO with a rolling window): ``[[contracts]]``."""

    id: MonitorId
    customer: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    monitors: list[MonitorId] = Field(default_factory=list)
    components: list[MonitorId] = Field(default_factory=list)
    sli: SLIKind = SLIKind.AVAILABILITY
    target: Percent
    period: PeriodRule = PeriodRule.MONTH
    timezone: Annotated[str, AfterValidator(_check_tz)] = "UTC"
    window: Annotated[Duration, _at_least(3600, "s (1h)")] | None = None
    accounting: Literal["seconds", "minutes_any", "minutes_full"] = "seconds"
    min_downtime_minutes: int = Field(default=0, ge=0, le=1440)
    maintenance: Literal["exclude_from_total", "count_as_up"] = "count_as_up"
    unknown: Literal["up", "down", "exclude"]
    tiers: list[TierConfig] = Field(default_factory=list)
    credit_cap_percent: Percent | None = None
    monthly_fee: ExactDecimal | None = Field(default=None, ge=0)
    currency: str | None = None
    rounding: Literal["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"] = (
        "half_up"
    )
    percentile: ExactDecimal | None = Field(default=None, gt=0, lt=100)
    latency_limit: Annotated[Duration, _at_least(0.001, "s")] | None = None
    acknowledge_within: Annotated[Duration, _at_least(1, "s")] | None = None
    resolve_within: Annotated[Duration, _at_least(1, "s")] | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None:
            minor_units(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.monitors and not self.components:
            raise ValueError("components: name the components or monitors the contract covers")
        rolling = self.period is PeriodRule.ROLLING
        if rolling and self.window is None:
            raise ValueError('window: a rolling period needs a window, e.g. window = "30d"')
        if not rolling and self.window is not None:
            raise ValueError("window: only a rolling period has a window")
        if self.min_downtime_minutes > 1 and self.accounting != "minutes_full":
            raise ValueError("min_downtime_minutes: applies only to minutes_full accounting")
        latency = self.sli is SLIKind.LATENCY
        if latency and (self.percentile is None or self.latency_limit is None):
            raise ValueError(
                'percentile: a latency SLI needs percentile = "95" and latency_limit = "500ms"'
            )
        if not latency and (self.percentile is not None or self.latency_limit is not None):
            raise ValueError("percentile: percentile and latency_limit go with sli = latency")
        response = self.sli is SLIKind.INCIDENT_RESPONSE
        if response and (self.acknowledge_within is None or self.resolve_within is None):
            raise ValueError(
                "acknowledge_within: an incident_response SLI needs acknowledge_within "
                "and resolve_within"
            )
        if not response and (self.acknowledge_within or self.resolve_within):
            raise ValueError(
                "acknowledge_within: acknowledge_within and resolve_within go with "
                "sli = incident_response"
            )
        if response and not self.components:
            raise ValueError("components: incidents belong to components; name them")
        if not rolling and (self.monthly_fee is None or self.currency is None):
            raise ValueError(
                'monthly_fee: a customer contract needs monthly_fee = "1000.00" and '
                'currency = "EUR"'
            )
        try:
            self.credit_terms()
        except ValueError as exc:
            raise ValueError(f"tiers: {exc}") from None
        return self

    def credit_terms(self) -> CreditTerms:
        """The credit part as the engine's value."""
        return CreditTerms(
            tiers=tuple(Tier(t.below, t.credit_percent) for t in self.tiers),
            cap_percent=self.credit_cap_percent,
            monthly_fee=self.monthly_fee if self.monthly_fee is not None else Decimal(0),
            # An internal SLO without a fee owes nothing; the currency only labels zeros.
            currency=self.currency or "EUR",
            rounding=ROUNDING_NAMES[self.rounding],
        )

    def to_contract(self) -> Contract:
        """The engine's Contract value for this entry."""
        latency = None
        if self.percentile is not None and self.latency_limit is not None:
            latency = LatencyObjective(self.percentile, Decimal(repr(self.latency_limit)))
        response = None
        if self.acknowledge_within is not None and self.resolve_within is not None:
            response = ResponseLimits(
                timedelta(seconds=self.acknowledge_within), timedelta(seconds=self.resolve_within)
            )
        return Contract(
            id=self.id,
            customer_id=self.customer_id,
            customer_name=self.customer,
            monitors=tuple(self.monitors),
            components=tuple(self.components),
            sli=self.sli,
            target=self.target,
            period=self.period,
            tz=self.timezone,
            window=None if self.window is None else timedelta(seconds=self.window),
            terms=AccountingTerms(
                accounting=Accounting(self.accounting),
                unknown=UnknownPolicy(self.unknown),
                maintenance=MaintenancePolicy(self.maintenance),
                min_downtime_minutes=self.min_downtime_minutes,
            ),
            credit=self.credit_terms(),
            latency=latency,
            response=response,
        )


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
    bus: BusConfig = BusConfig()
    agent: AgentConfig = AgentConfig()
    statuspage: StatusPageConfig = StatusPageConfig()
    monitors: list[MonitorConfig] = Field(default_factory=list)
    components: list[ComponentConfig] = Field(default_factory=list)
    contracts: list[ContractConfig] = Field(default_factory=list)
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

    def locations_for(self, monitor: MonitorConfig) -> list[str]:
        """Where ``monitor`` is checked from: this process, or its agents' locations.

        Push monitors are received by the engine itself, so they have its location.
        """
        if self.bus.kind == "inprocess" or monitor.type == "push":
            return [self.scheduler.location]
        return list(monitor.locations or self.bus.locations)

    def quorum_for(self, monitor: MonitorConfig) -> int:
        """How many of its locations must agree: configured, or a strict majority."""
        n = len(self.locations_for(monitor))
        return min(monitor.quorum or default_quorum(n), n)

    def checks(self, location: str | None = None) -> list[Check]:
        """A Check per scheduled monitor (all but push; from ``location``, if given)."""
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
            and (location is None or location in self.locations_for(m))
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


# Model validators name the field they complain about first: "window: ...".
_FIELD_PREFIXES = frozenset(
    {
        "target",
        "timeout",
        "components",
        "window",
        "min_downtime_minutes",
        "percentile",
        "acknowledge_within",
        "monthly_fee",
        "tiers",
        "duration",
        "end",
        "locations",
    }
)


def _messages(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[str]:
    lines = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = prefix + tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing" and loc[:1] == ("contracts",) and loc[-1] == "unknown":
            msg = "required: say how time without data counts: up, down or exclude"
        # "target: ..." raised by a model validator belongs to that field.
        field, sep, rest = msg.partition(": ")
        if sep and field in _FIELD_PREFIXES and (not loc or loc[-1] != field):
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
    errors.extend(_contract_errors(config, set(first_use), set(component_ids)))
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


def _contract_errors(config: Config, monitor_ids: set[str], component_ids: set[str]) -> list[str]:
    errors = []
    seen: dict[str, int] = {}
    known_components = component_ids or {c.id for c in config.effective_components()}
    for i, contract in enumerate(config.contracts):
        if contract.id in seen:
            first = seen[contract.id]
            errors.append(
                f"contracts[{i}].id: {contract.id!r} is already used by contracts[{first}]"
            )
        seen.setdefault(contract.id, i)
        for j, monitor_id in enumerate(contract.monitors):
            if monitor_id not in monitor_ids:
                errors.append(f"contracts[{i}].monitors[{j}]: no monitor has the id {monitor_id!r}")
        for j, component_id in enumerate(contract.components):
            if component_id not in known_components:
                errors.append(
                    f"contracts[{i}].components[{j}]: no component has the id {component_id!r}"
                )
    return errors


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
