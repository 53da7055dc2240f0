"""Email over SMTP with aiosmtplib: one plain-text message per notification."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from slamon.alerting.notify.message import Notification
    from slamon.config.notifiers import EmailSettings


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
