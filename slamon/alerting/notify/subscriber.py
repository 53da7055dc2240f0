"""Telling status page subscribers: what is sent, and the mail and webhook notifiers.

An :class:`Announcement` is one public event (an incident created, updated or
resolved; a maintenance scheduled, started or completed) in the page's words and in
Statuspage's webhook shape. A :class:`Delivery` is one announcement to one subscriber;
a :class:`Confirmation` the mail that asks an address to confirm. They go through the
notifier workers (a bounded queue, retries with backoff) like every notification.

Every message to a subscriber carries its unsubscribe link: in the mail's body and in
``List-Unsubscribe`` with ``List-Unsubscribe-Post`` (RFC 8058 one-click), in a
webhook's ``meta.unsubscribe``. A webhook body is signed (``X-Slamon-Signature``,
see :mod:`signing`) and carries a delivery id that stays the same across retries.
A subscriber who left while a delivery waited in the queue gets nothing.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from slamon.alerting.notify.http import ReceiverError
from slamon.alerting.notify.signing import unsubscribe_token, webhook_key, webhook_signature

if TYPE_CHECKING:
    from datetime import datetime

    from slamon.config.subscriptions import SmtpServer
    from slamon.store.subscribers import Subscriber, SubscriberStore

EVENT = "subscribers"  # the notifier event of every subscriber message
# RFC 5322 allows 998 characters a line: a List-Unsubscribe link stays one <url> that
# mail clients can read, instead of being folded into encoded words (what a 78-column
# policy does to a long value without spaces). Mails are flattened here with it.
_POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True, slots=True)
class Announcement:
    """One public event, ready to tell: mail words and the webhook's Statuspage body.

    ``key`` names the event for good (``incident:<id>:created``, ...); ``body`` is
    ``{"page": ..., "incident": ...}`` as Statuspage's webhooks send it.
    """

    key: str
    kind: str
    event: str
    component_ids: tuple[str, ...]
    subject: str
    text: str
    body: Mapping[str, Any]
    at: datetime

    @property
    def name(self) -> str:
        """``incident.created``, ``maintenance.started``, ..."""
        return f"{self.kind}.{self.event}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One announcement to one subscriber."""

    announcement: Announcement
    subscriber: Subscriber

    @property
    def event(self) -> str:
        """Only subscriber workers take it."""
        return EVENT

    @property
    def delivery_id(self) -> str:
        """The same for every attempt, so a receiver can drop a repeat."""
        name = f"{self.subscriber.id}/{self.announcement.key}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    @property
    def dedup_key(self) -> str:
        """The delivery id."""
        return self.delivery_id

    @property
    def subject(self) -> str:
        """The mail subject."""
        return self.announcement.subject


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The mail asking ``email`` to confirm a subscription (the link is in ``text``)."""

    email: str
    subject: str
    text: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def event(self) -> str:
        """Only subscriber workers take it."""
        return EVENT

    @property
    def dedup_key(self) -> str:
        """Each confirmation is its own message (the form limits how often)."""
        return f"confirm:{self.id}"


SubscriberMessage = Delivery | Confirmation


@dataclass(frozen=True, slots=True)
class Links:
    """Where the page is, and how a subscriber's unsubscribe link is made."""

    base: str
    secret: bytes

    def unsubscribe(self, subscriber_id: str) -> str:
        """The subscriber's one-click unsubscribe link (it never expires)."""
        token = unsubscribe_token(self.secret, subscriber_id)
        return f"{self.base}subscriptions/unsubscribe?token={token}"


def subscriber_mail(
    delivery: Delivery, sender: str, links: Links, footer: str, list_id: str
) -> EmailMessage:
    """The mail of one delivery, with its unsubscribe link in the body and the headers."""
    subscriber = delivery.subscriber
    assert subscriber.email is not None
    unsubscribe = links.unsubscribe(subscriber.id)
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = sender
    mail["To"] = subscriber.email
    mail["Subject"] = delivery.announcement.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=list_id)
    mail["List-Id"] = f"<{list_id}>"
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Slamon-Event"] = delivery.announcement.name
    mail.set_content(f"{delivery.announcement.text}\n\n-- \n{footer}\n{unsubscribe}\n")
    return mail


def confirmation_mail(confirmation: Confirmation, sender: str, list_id: str) -> EmailMessage:
    """The confirmation mail (not a list message yet: nothing to unsubscribe from)."""
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = sender
    mail["To"] = confirmation.email
    mail["Subject"] = confirmation.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=list_id)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(confirmation.text + "\n")
    return mail


class SubscriberMailer:
    """Sends confirmations and deliveries to email subscribers (a connection per mail).

    ``footer`` gives the words before the unsubscribe link for a subscriber (which
    components it chose).
    """

    resend_active = False

    def __init__(
        self,
        smtp: SmtpServer,
        sender: str,
        links: Links,
        subscribers: SubscriberStore,
        footer: Any,
    ) -> None:
        self.smtp = smtp
        self.sender = sender
        self.links = links
        self.subscribers = subscribers
        self.footer = footer
        self.list_id = urlsplit(links.base).hostname or "slamon"

    async def send(self, message: SubscriberMessage) -> None:
        """Send one mail or raise; a delivery to someone who left is dropped."""
        if isinstance(message, Confirmation):
            mail = confirmation_mail(message, self.sender, self.list_id)
        else:
            current = await self.subscribers.get(message.subscriber.id)
            if current is None:
                return
            mail = subscriber_mail(
                message, self.sender, self.links, self.footer(current), self.list_id
            )
        s = self.smtp
        await aiosmtplib.send(
            mail.as_bytes(policy=_POLICY),
            sender=parseaddr(self.sender)[1],
            recipients=[str(mail["To"])],
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password.get_secret_value() if s.password else None,
            use_tls=s.use_tls,
            start_tls=s.starttls,
        )

    async def close(self) -> None:
        """Nothing is kept open."""


def public_address(host: str) -> bool:
    """Whether ``host`` (an IP address) is on the public internet."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    return address.is_global and not address.is_multicast


class PublicResolver(AbstractResolver):
    """Resolves names to public addresses only: webhooks never reach inside the network.

    Checked where the connection is made, so a name that resolves to a private
    address later than when it was given (DNS rebinding) is refused too.
    """

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The public addresses of ``host``; OSError when it has none."""
        every = await self._inner.resolve(host, port, family)
        found = [r for r in every if public_address(r["host"])]
        if not found:
            raise OSError(f"{host} has no public address; webhooks go to public addresses only")
        return found

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


class SubscriberWebhook:
    """POSTs signed Statuspage-shaped JSON to webhook subscribers."""

    resend_active = False

    def __init__(
        self,
        links: Links,
        subscribers: SubscriberStore,
        *,
        private_ok: bool = False,
        clock: Any = time.time,
    ) -> None:
        self.links = links
        self.subscribers = subscribers
        self.private_ok = private_ok
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    def body(self, delivery: Delivery) -> bytes:
        """The JSON sent: Statuspage's webhook body with our ``meta``."""
        a = delivery.announcement
        meta = {
            "unsubscribe": self.links.unsubscribe(delivery.subscriber.id),
            "documentation": None,
            "generated_at": a.at.isoformat(),
            "event": a.name,
            "delivery_id": delivery.delivery_id,
        }
        return json.dumps({"meta": meta, **a.body}, ensure_ascii=False).encode()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=None if self.private_ok else PublicResolver(), force_close=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": "slamon"}
            )
        return self._session

    async def send(self, delivery: SubscriberMessage) -> None:
        """POST the delivery; raise on a refused address or an answer that is not 2xx."""
        if isinstance(delivery, Confirmation):  # confirmations are mail
            return
        current = await self.subscribers.get(delivery.subscriber.id)
        if current is None or current.webhook_url is None:
            return
        url = current.webhook_url
        host = urlsplit(url).hostname or ""
        if not self.private_ok:
            try:
                literal = not public_address(host.strip("[]"))
            except ValueError:
                literal = False  # a name: the resolver checks it
            if literal:
                raise ReceiverError(f"{url}: not a public address")
        body = self.body(delivery)
        timestamp = int(self.clock())
        key = webhook_key(self.links.secret, current.id)
        headers = {
            "Content-Type": "application/json",
            "X-Slamon-Event": delivery.announcement.name,
            "X-Slamon-Delivery": delivery.delivery_id,
            "X-Slamon-Timestamp": str(timestamp),
            "X-Slamon-Signature": webhook_signature(key, timestamp, body),
        }
        async with self._client().post(
            url, data=body, headers=headers, allow_redirects=False
        ) as resp:
            if resp.status >= 300:
                raise ReceiverError(f"{url} answered {resp.status}")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
