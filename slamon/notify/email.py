"""Email over SMTP with aiosmtplib: one plain-text message per notification."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from slamon.notify.message import Notification


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


def email_message(message: Notification, sender: str, to: list[str]) -> EmailMessage:
    """The mail for one notification."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="slamon")
    mail["X-Slamon-Event"] = f"{message.event}; {message.status}"
    mail.set_content(message.text + "\n")
    return mail


class EmailNotifier:
    """Sends each notification as one mail (a new connection per mail)."""

    resend_active = False

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    async def send(self, message: Notification) -> None:
        """Send the mail or raise."""
        s = self.settings
        await aiosmtplib.send(
            email_message(message, s.sender, s.to),
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            use_tls=s.use_tls,
            start_tls=s.starttls,
        )

    async def close(self) -> None:
        """Nothing is kept open."""
