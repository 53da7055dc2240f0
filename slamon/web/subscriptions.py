"""The subscribe form, its confirmation and unsubscribe links, and the admin's subscriber API.

``POST /subscriptions`` takes the form (no JavaScript needed) and queues a
confirmation mail; ``/subscriptions/confirm?token=`` and
``/subscriptions/unsubscribe?token=`` show a page with one button that posts the same
token (mail scanners follow links, and a link followed by a machine must not
subscribe or unsubscribe anyone). ``POST /subscriptions/unsubscribe?token=`` is also
the RFC 8058 one-click target of ``List-Unsubscribe-Post``.

Not an open relay: a mail goes only to the address typed into the form, says only
what the page says, and at most once per address per ``form_window``; each client
address may post ``form_limit`` times per window, and all of them together get at
most ``mail_limit`` confirmation mails an hour. A response never repeats an address.

Admin (bearer ``server.admin_token``): ``GET /api/v1/admin/subscribers`` (JSON, or
``?format=csv`` to export) and ``DELETE /api/v1/admin/subscribers/{id}``.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from slamon.alerting.notify.signing import BadToken, unsubscribe_id, webhook_key
from slamon.alerting.notify.subscriber import public_address
from slamon.store.subscribers import (
    EMAIL,
    WEBHOOK,
    SubscriberStore,
    subscriber_json,
    subscribers_csv,
)
from slamon.web.auth import Role, require
from slamon.web.keys import RUNTIME
from slamon.web.limits import RateLimiter
from statuspage.i18n import Locale
from statuspage.snapshot import PageSnapshot

if TYPE_CHECKING:
    from slamon.alerting.subscribers import Subscriptions
    from slamon.runtime import Runtime

log = logging.getLogger("slamon.subscribers")

_PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


LIMITER = web.AppKey("subscription_limiter", RateLimiter)


def normal_email(text: str) -> str | None:
    """The address, its domain in lower case; None when it is not one."""
    if not text or len(text) > 254 or any(c in text for c in "\r\n\x00"):
        return None
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError):
        return None
    if not address.username or "." not in address.domain or address.domain.endswith("."):
        return None
    return f"{address.username}@{address.domain.lower()}"


def webhook_url(text: str, private_ok: bool) -> str | None:
    """An http(s) URL with a host and no credentials (public unless allowed); else None."""
    if not text or len(text) > 2000 or any(c in text for c in "\r\n\x00 "):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # ValueError when it is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    if not private_ok:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return None
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return text  # a name: checked again where the connection is made
        if not public_address(host):
            return None
    return text


def _page(rt: Runtime) -> PageSnapshot:
    sp = rt.config.statuspage
    s = rt.config.subscriptions
    return PageSnapshot(
        sp.title,
        sp.description,
        sp.timezone,
        sp.language,
        sp.url,
        datetime.now(UTC),
        (),
        subscribe=s.enabled,
        subscribe_webhooks=s.enabled and s.webhooks,
        confirm_hours=int(s.confirm_within // 3600),
    )


def _groups(rt: Runtime) -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in rt.config.effective_components():
        groups.setdefault(c.group, []).append((c.id, c.name))
    return list(groups.items())


def _t(rt: Runtime) -> Any:
    sp = rt.config.statuspage
    return Locale(sp.language, sp.timezone).t


def _notice(rt: Runtime, status: int, heading_key: str, *texts: str, **extra: Any) -> web.Response:
    body = rt.renderer.render_notice(_page(rt), _t(rt)(heading_key), texts, **extra)
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=_PRIVATE
    )


def _subscriptions(request: web.Request) -> tuple[Runtime, Subscriptions]:
    rt = request.app[RUNTIME]
    if rt.subscriptions is None:
        raise web.HTTPNotFound()
    return rt, rt.subscriptions


async def subscribe(request: web.Request) -> web.Response:
    """The form: check it, and queue a confirmation mail."""
    rt, subs = _subscriptions(request)
    s = rt.config.subscriptions
    t = _t(rt)
    limiter = request.app[LIMITER]
    client = f"client:{request.remote or '?'}"
    if not limiter.allow(client, s.form_limit, s.form_window):
        minutes = max(1, round(limiter.retry_after(client, s.form_window) / 60))
        return _limited(rt, minutes)
    form = await request.post()
    email = normal_email(str(form.get("email", "")).strip())
    hook = str(form.get("webhook", "")).strip()
    chosen = [str(c) for c in form.getall("component", [])]
    known = {c.id for c in rt.config.effective_components()}
    errors = []
    if email is None:
        errors.append(t("subscribe.bad_email"))
    url = None
    if hook:
        if not s.webhooks:
            errors.append(t("subscribe.no_webhooks"))
        else:
            url = webhook_url(hook, s.webhook_private)
            if url is None:
                errors.append(t("subscribe.bad_webhook"))
    if any(c not in known for c in chosen):
        errors.append(t("subscribe.bad_component"))
    if errors or email is None:
        return _notice(
            rt,
            400,
            "subscribe.title",
            errors=errors,
            groups=_groups(rt),
            chosen=[c for c in chosen if c in known],
        )
    components = sorted(set(chosen), key=[c.id for c in rt.config.effective_components()].index)
    # One confirmation per address per window: asking again says the same, sends nothing.
    if limiter.allow(f"to:{email}", 1, s.form_window):
        if not limiter.allow("mail", s.mail_limit, 3600):
            log.warning("subscription confirmations: hourly limit of %d reached", s.mail_limit)
            return _limited(rt, max(1, round(limiter.retry_after("mail", 3600) / 60)))
        subs.send_confirmation(WEBHOOK if url else EMAIL, email, url or "", components)
    hours = int(s.confirm_within // 3600)
    return _notice(rt, 202, "subscribe.sent_title", t("subscribe.sent", hours=hours))


def _limited(rt: Runtime, minutes: int) -> web.Response:
    t = _t(rt)
    response = _notice(rt, 429, "subscribe.limited_title", t("subscribe.limited", minutes=minutes))
    response.headers["Retry-After"] = str(minutes * 60)
    return response


def _bad_link(rt: Runtime) -> web.Response:
    t = _t(rt)
    return _notice(rt, 400, "subscribe.bad_link_title", t("subscribe.bad_link"))


async def confirm_page(request: web.Request) -> web.Response:
    """A confirmation link: what it asks for, and the button that confirms it."""
    rt, subs = _subscriptions(request)
    token = request.query.get("token", "")
    try:
        asked = subs.read_confirmation(token)
    except BadToken:
        return _bad_link(rt)
    t = _t(rt)
    scope = subs.scope(asked["c"])
    text = (
        t("subscribe.confirm_webhook", page=subs.page, url=asked["u"], scope=scope)
        if asked["k"] == WEBHOOK
        else t("subscribe.confirm_email", page=subs.page, scope=scope)
    )
    return _notice(
        rt,
        200,
        "subscribe.confirm_title",
        text,
        action=f"{subs.links.base}subscriptions/confirm",
        token=token,
        button=t("subscribe.confirm_button"),
    )


async def confirm(request: web.Request) -> web.Response:
    """The confirm button: store the subscriber; a webhook's signing key is shown once."""
    rt, subs = _subscriptions(request)
    form = await request.post()
    try:
        asked = subs.read_confirmation(str(form.get("token", "")))
    except BadToken:
        return _bad_link(rt)
    subscriber = await subs.confirm(asked)
    t = _t(rt)
    key = webhook_key(subs.secret, subscriber.id) if subscriber.kind == WEBHOOK else ""
    return _notice(
        rt,
        200,
        "subscribe.confirmed_title",
        t("subscribe.confirmed", scope=subs.scope(subscriber.components)),
        key=key,
    )


async def unsubscribe_page(request: web.Request) -> web.Response:
    """An unsubscribe link: the button that unsubscribes."""
    rt, subs = _subscriptions(request)
    token = request.query.get("token", "")
    try:
        unsubscribe_id(subs.secret, token)
    except BadToken:
        return _bad_link(rt)
    t = _t(rt)
    return _notice(
        rt,
        200,
        "subscribe.unsubscribe_title",
        t("subscribe.unsubscribe_lead", page=subs.page),
        action=f"{subs.links.base}subscriptions/unsubscribe?token={token}",
        button=t("subscribe.unsubscribe_button"),
    )


async def unsubscribe(request: web.Request) -> web.Response:
    """The button, or a mail client's one-click POST: delete the subscriber."""
    rt, subs = _subscriptions(request)
    form = await request.post()
    token = request.query.get("token") or str(form.get("token", ""))
    try:
        subscriber = unsubscribe_id(subs.secret, token)
    except BadToken:
        return _bad_link(rt)
    if await subs.store.remove(subscriber):
        log.info("subscriber %s unsubscribed", subscriber)
    t = _t(rt)
    text = t("subscribe.unsubscribed", page=subs.page)
    return _notice(rt, 200, "subscribe.unsubscribed_title", text)


async def list_subscribers(request: web.Request) -> web.Response:
    """Every subscriber (admin): JSON, or ``?format=csv``."""
    rt = request.app[RUNTIME]
    require(request, rt.config, Role.ADMIN)
    found = await SubscriberStore(rt.store).all()
    if request.query.get("format") == "csv":
        return web.Response(
            text=subscribers_csv(found),
            content_type="text/csv",
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": 'attachment; filename="subscribers.csv"',
            },
        )
    return web.json_response(
        {"subscribers": [subscriber_json(s) for s in found]}, headers={"Cache-Control": "no-store"}
    )


async def delete_subscriber(request: web.Request) -> web.Response:
    """Delete one subscriber (admin)."""
    rt = request.app[RUNTIME]
    require(request, rt.config, Role.ADMIN)
    if not await SubscriberStore(rt.store).remove(request.match_info["id"]):
        raise web.HTTPNotFound(text="no such subscriber")
    return web.Response(status=204)


def add_subscription_routes(app: web.Application) -> None:
    """The form and its links (when subscriptions are on), and the admin API (always)."""
    app[LIMITER] = RateLimiter()
    app.router.add_post("/subscriptions", subscribe)
    app.router.add_get("/subscriptions/confirm", confirm_page)
    app.router.add_post("/subscriptions/confirm", confirm)
    app.router.add_get("/subscriptions/unsubscribe", unsubscribe_page)
    app.router.add_post("/subscriptions/unsubscribe", unsubscribe)
    app.router.add_get("/api/v1/admin/subscribers", list_subscribers)
    app.router.add_delete("/api/v1/admin/subscribers/{id}", delete_subscriber)
