"""``[[notifiers]]``: where alerts and incident events go; each type's settings model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from probes.durations import Duration
from slamon.config.common import MonitorId, Section, at_least


class NotifierConfig(Section):
    """Where alerts and incident events go; the type's own keys sit beside these."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: MonitorId
    type: str
    events: list[Literal["alerts", "incidents"]] = Field(default=["alerts"], min_length=1)
    queue_size: int = Field(default=1000, ge=1, le=1_000_000)
    timeout: Annotated[Duration, at_least(0.05, "s")] = 10
    retries: int = Field(default=5, ge=0, le=100)
    backoff: Annotated[Duration, at_least(0.01, "s")] = 1
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


class HttpSettings(BaseModel):
    """A URL and extra headers (write secrets as ``${ENV}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl
    headers: dict[str, str] = Field(default_factory=dict)


class AlertmanagerSettings(HttpSettings):
    """``url`` is Alertmanager's base URL (``http://alertmanager:9093``)."""

    generator_url: str = ""


class EmailSettings(BaseModel):
    """The SMTP server, the sender and the recipients."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    use_tls: bool = False
    starttls: bool = False
    sender: str = Field(alias="from")
    to: list[str] = Field(min_length=1)


class MqttSettings(BaseModel):
    """The broker and the topic prefix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    topic_prefix: str = "slamon/v1/events"
    qos: int = Field(default=1, ge=0, le=2)
    client_id: str = ""


NOTIFIER_SETTINGS: dict[str, type[BaseModel]] = {
    "alertmanager": AlertmanagerSettings,
    "webhook": HttpSettings,
    "slack": HttpSettings,
    "mqtt": MqttSettings,
    "email": EmailSettings,
}
"""Each notifier type's settings model, by its config ``type``."""
