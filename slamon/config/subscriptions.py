"""``[subscriptions]``: customers subscribe to the status page by email or webhook.

Off by default. When on, the page shows a subscribe form, confirmation mails go out
through ``[subscriptions.smtp]``, and every link in them is signed with ``secret``
(which also derives each webhook subscriber's signing key). Links are absolute, so
``[statuspage] url`` is required (checked in ``load``).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

from probes.durations import Duration
from slamon.config.common import Section, at_least

MIN_SECRET = 32


class SmtpServer(BaseModel):
    """The SMTP server subscriber mail goes through (write the password as ``${ENV}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    use_tls: bool = False
    starttls: bool = False


class SubscriptionsConfig(Section):
    """Who may subscribe, how they are told, and how hard the form may be pushed.

    ``form_limit`` subscribe requests per client address in ``form_window``, and
    ``mail_limit`` confirmation mails per hour in all, so that the form cannot be
    used to send mail to strangers in bulk. Webhook URLs at loopback, private or
    link-local addresses are refused unless ``webhook_private`` (a test or a
    private network). Deliveries go through a notifier queue each (``queue_size``,
    ``timeout``, ``retries``, ``backoff`` as in ``[[notifiers]]``); webhooks through
    ``webhook_workers`` of them, so that one dead receiver holds up few others.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    enabled: bool = False
    secret: SecretStr | None = None
    sender: str = Field(default="", alias="from")
    smtp: SmtpServer | None = None
    confirm_within: Annotated[Duration, at_least(60, "s")] = 48 * 3600
    webhooks: bool = True
    webhook_private: bool = False
    scan_interval: Annotated[Duration, at_least(0.1, "s")] = 5
    form_limit: int = Field(default=5, ge=1, le=10_000)
    form_window: Annotated[Duration, at_least(1, "s")] = 600
    mail_limit: int = Field(default=200, ge=1, le=1_000_000)
    queue_size: int = Field(default=10_000, ge=1, le=1_000_000)
    timeout: Annotated[Duration, at_least(0.05, "s")] = 10
    retries: int = Field(default=5, ge=0, le=100)
    backoff: Annotated[Duration, at_least(0.01, "s")] = 2
    webhook_workers: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.enabled:
            return self
        secret = self.secret.get_secret_value() if self.secret is not None else ""
        if len(secret) < MIN_SECRET:
            raise ValueError(
                f"secret: subscriptions need a secret of at least {MIN_SECRET} characters "
                '(it signs every link): secret = "${SLAMON_SUBSCRIPTION_SECRET}"'
            )
        if "@" not in self.sender:
            raise ValueError(
                'from: the sender of subscriber mail, e.g. from = "status@example.com"'
            )
        if self.smtp is None:
            raise ValueError("smtp: the SMTP server for subscriber mail: [subscriptions.smtp] host")
        return self

    def secret_bytes(self) -> bytes:
        """The signing secret (only called when enabled, where it is required)."""
        assert self.secret is not None
        return self.secret.get_secret_value().encode()
