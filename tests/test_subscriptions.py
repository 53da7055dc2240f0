"""Subscribers, end to end: the form, a real SMTP server (aiosmtpd), a real HTTP sink.

slamon runs as a real server on a socket bound to port 0 (so that its public address,
which every link in a mail carries, is known before it starts). Incidents and
maintenance are made through the admin API, the way people make them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from slamon.app import build_runtime, create_app
from slamon.config.load import parse_config
from slamon.runtime import Runtime
from tests.receivers import smtp_server
from tests.test_statuspage_api import check_incident

SECRET = "s" * 40
AUTH = {"Authorization": "Bearer adm"}


async def within(seconds: float, predicate: Callable[[], bool], what: str = "") -> None:
    """Wait until ``predicate`` holds, at most ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        await asyncio.sleep(0.02)


@dataclass
class Sink:
    """An HTTP receiver that keeps every request's headers and raw body."""

    fail_first: int = 0
    seen: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            body = await request.read()
            status = 503 if self.fail_first > 0 else 200
            self.fail_first -= 1
            self.seen.append((dict(request.headers), body, status))
            return web.Response(status=status, text="ok" if status == 200 else "later")

        app = web.Application()
        app.router.add_post("/{tail:.*}", record)
        return app

    def accepted(self) -> list[tuple[dict[str, str], dict[str, Any], bytes]]:
        return [(h, json.loads(b), b) for h, b, status in self.seen if status == 200]


@dataclass
class Rig:
    url: str
    runtime: Runtime
    http: aiohttp.ClientSession
    inbox: list[Message]
    sink: Sink
    sink_url: str
    runner: web.AppRunner
    start: Callable[[], Any]

    async def restart(self) -> None:
        """Stop slamon and start a new process's worth of it on the same database."""
        await self.runner.cleanup()
        self.url, self.runtime, self.runner = await self.start()
        await self.scans(1)

    def mails_to(self, address: str) -> list[Message]:
        return [m for m in self.inbox if m["To"] == address]

    async def scans(self, n: int) -> None:
        """Wait until the announcer finished ``n`` more scans."""
        subs = self.runtime.subscriptions
        assert subs is not None
        start = subs.scans
        await within(10, lambda: subs.scans >= start + n, f"{n} scans")


def body_of(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(mail: Message, path: str) -> str:
    found = re.search(rf"(http://\S+/{path}\?token=\S+)", body_of(mail))
    assert found, body_of(mail)
    return found.group(1)


def form_in(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the (one) button form on a notice page."""
    action = re.search(r'<form method="post" action="([^"]+)">', page)
    assert action, page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in fields.items()}


def config_data(tmp_path: Path, port: int, smtp_port: int, **subscriptions: Any) -> dict[str, Any]:
    return {
        "server": {"admin_token": "adm"},
        "store": {"url": f"sqlite+aiosqlite:///{tmp_path}/subs.db", "flush_interval": "50ms"},
        "statuspage": {"title": "Example status", "url": f"http://127.0.0.1:{port}/"},
        "monitors": [
            # Checked once an hour against slamon's own port: it stays up, opens nothing.
            {"id": "m-api", "type": "tcp", "target": f"127.0.0.1:{port}", "interval": "1h"},
            {"id": "m-web", "type": "tcp", "target": f"127.0.0.1:{port}", "interval": "1h"},
        ],
        "components": [
            {"id": "api", "name": "Public API", "monitors": ["m-api"]},
            {"id": "web", "name": "Website", "monitors": ["m-web"]},
        ],
        "alerts": {"evaluation_interval": "1h"},
        "subscriptions": {
            "enabled": True,
            "secret": SECRET,
            "from": "status@example.com",
            "smtp": {"host": "127.0.0.1", "port": smtp_port},
            "webhook_private": True,  # the sink is on the loopback
            "scan_interval": "200ms",
            "backoff": "50ms",
            "retries": 3,
            **subscriptions,
        },
    }


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sink = Sink()
    sink_runner = web.AppRunner(sink.app())
    await sink_runner.setup()
    sink_site = web.TCPSite(sink_runner, "127.0.0.1", 0)
    await sink_site.start()
    sink_port = sink_runner.addresses[0][1]
    async with smtp_server() as (smtp_port, inbox):

        async def start() -> tuple[str, Runtime, web.AppRunner]:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            runtime = build_runtime(parse_config(config_data(tmp_path, port, smtp_port), {}))
            runner = web.AppRunner(create_app(runtime))
            await runner.setup()
            await web.SockSite(runner, sock).start()
            return f"http://127.0.0.1:{port}/", runtime, runner

        url, runtime, runner = await start()
        rig = None
        try:
            async with aiohttp.ClientSession() as http:
                rig = Rig(
                    url,
                    runtime,
                    http,
                    inbox,
                    sink,
                    f"http://127.0.0.1:{sink_port}/hook",
                    runner,
                    start,
                )
                await rig.scans(1)  # the first scan: what exists is history
                yield rig
        finally:
            await (rig.runner if rig is not None else runner).cleanup()
            await sink_runner.cleanup()


async def subscribe(rig: Rig, **form: Any) -> str:
    data = aiohttp.FormData()
    for key, value in form.items():
        for v in value if isinstance(value, list) else [value]:
            data.add_field(key, v)
    async with rig.http.post(rig.url + "subscriptions", data=data) as resp:
        text = await resp.text()
        assert resp.status == 202, text
        assert "Check your mailbox" in text
        assert form["email"] not in text  # the answer never repeats the address
    return text


async def follow_button(rig: Rig, link: str) -> str:
    """Open a link from a mail, as a person would: the page, then its one button."""
    async with rig.http.get(link) as resp:
        assert resp.status == 200
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        page = await resp.text()
    action, fields = form_in(page)
    async with rig.http.post(action, data=fields) as resp:
        assert resp.status == 200
        return await resp.text()


async def admin(rig: Rig, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with rig.http.request(
        method, rig.url + "api/v1/admin/" + path, json=body, headers=AUTH
    ) as resp:
        assert resp.status in (200, 201), await resp.text()
        result: dict[str, Any] = await resp.json()
        return result


def signed_by(key: str, headers: dict[str, str], raw: bytes) -> bool:
    expected = hmac.new(
        key.encode(), headers["X-Slamon-Timestamp"].encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["X-Slamon-Signature"], f"sha256={expected}")


async def test_subscribe_confirm_be_told_once_per_event_unsubscribe(rig: Rig) -> None:
    # Alice wants every component by mail; Carol only the website; Bob a webhook for api.
    await subscribe(rig, email="alice@example.com")
    await subscribe(rig, email="carol@example.com", component="web")
    await subscribe(rig, email="bob@example.com", webhook=rig.sink_url, component="api")
    await within(10, lambda: len(rig.inbox) == 3, "three confirmation mails")
    subs = rig.runtime.subscriptions
    assert subs is not None
    assert await subs.store.all() == []  # nothing is kept before confirmation

    for who in ("alice@example.com", "carol@example.com"):
        (mail,) = rig.mails_to(who)
        assert mail["Subject"] == "[Example status] Confirm your subscription"
        assert "List-Unsubscribe" not in mail  # not subscribed yet: nothing to leave
        page = await follow_button(rig, link_in(mail, "subscriptions/confirm"))
        assert "You are subscribed" in page
    (bob_mail,) = rig.mails_to("bob@example.com")
    assert rig.sink_url in body_of(bob_mail)  # the mail says where the webhook would go
    page = await follow_button(rig, link_in(bob_mail, "subscriptions/confirm"))
    key_match = re.search(r'<code class="key">([0-9a-f]{64})</code>', page)
    assert key_match, page
    key = key_match.group(1)
    stored = {s.kind: s for s in await subs.store.all()}
    assert stored["webhook"].email is None  # the webhook's confirming address is not kept
    assert stored["webhook"].components == ("api",)

    # The incident: created, updated, resolved, through the admin API.
    incident = await admin(
        rig,
        "POST",
        "incidents",
        {
            "title": "Errors on the API",
            "components": ["api"],
            "impact": "major",
            "message": "We are looking into errors.",
            "author": "oncall-secret-name",
        },
    )
    await admin(
        rig,
        "POST",
        f"incidents/{incident['id']}/updates",
        {"status": "identified", "message": "A bad deploy; rolling back.", "author": "oncall"},
    )
    await admin(
        rig,
        "POST",
        f"incidents/{incident['id']}/resolve",
        {"message": "Fixed.", "author": "oncall"},
    )
    await within(10, lambda: len(rig.mails_to("alice@example.com")) == 4, "three event mails")
    await within(10, lambda: len(rig.sink.accepted()) == 3, "three webhook calls")
    await rig.scans(3)  # more scans find the same events: nothing is told twice
    alice = rig.mails_to("alice@example.com")[1:]
    assert [m["Subject"] for m in alice] == [
        "[Example status] New incident: Errors on the API",
        "[Example status] Incident update: Errors on the API",
        "[Example status] Resolved: Errors on the API",
    ]
    assert len(rig.mails_to("carol@example.com")) == 1  # the website was not affected
    assert len(rig.sink.accepted()) == 3
    for mail, words in zip(
        alice, ["We are looking into errors.", "A bad deploy; rolling back.", "Fixed."], strict=True
    ):
        text = body_of(mail)
        assert words in text
        assert "Affects: Public API" in text
        assert f"{rig.url}incidents/{incident['id']}.html" in text
        assert "oncall" not in text  # who wrote it is internal
        unsubscribe = mail["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{rig.url}subscriptions/unsubscribe?token=")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.strip("<>") in text  # the same link in the body
        assert mail["Auto-Submitted"] == "auto-generated"

    # The webhook: Statuspage's body, signed with the key shown once, a delivery id each.
    calls = rig.sink.accepted()
    assert [h["X-Slamon-Event"] for h, _, _ in calls] == [
        "incident.created",
        "incident.updated",
        "incident.resolved",
    ]
    assert len({h["X-Slamon-Delivery"] for h, _, _ in calls}) == 3
    for headers, body, raw in calls:
        assert signed_by(key, headers, raw)
        assert not signed_by("0" * 64, headers, raw)
        assert not signed_by(key, headers, raw + b" ")  # an altered body fails
        assert body["meta"]["delivery_id"] == headers["X-Slamon-Delivery"]
        assert body["meta"]["unsubscribe"].startswith(f"{rig.url}subscriptions/unsubscribe?")
        assert set(body["page"]) == {"id", "status_indicator", "status_description"}
        check_incident(body["incident"], "webhook.incident")
        assert body["incident"]["id"] == incident["id"]
        assert [c["id"] for c in body["incident"]["components"]] == ["api"]
    assert calls[-1][1]["incident"]["status"] == "resolved"

    # Addresses are never on a public page or document.
    for path in ("", "index.html", "subscribe.html", "feed.atom", "api/v2/summary.json"):
        async with rig.http.get(rig.url + path) as resp:
            assert resp.status == 200, path
            text = await resp.text()
        assert "@example.com" not in text, path
        assert "127.0.0.1:" + rig.sink_url.split(":")[-1] not in text, path

    # Alice leaves by the link in her last mail; Bob's receiver by RFC 8058's one-click POST.
    page = await follow_button(rig, link_in(alice[-1], "subscriptions/unsubscribe"))
    assert "You are unsubscribed" in page
    bob_leaves = calls[-1][1]["meta"]["unsubscribe"]
    async with rig.http.post(bob_leaves, data={"List-Unsubscribe": "One-Click"}) as resp:
        assert resp.status == 200
    assert [s.email for s in await subs.store.all()] == ["carol@example.com"]

    # Nothing more for them: a new incident on both components reaches Carol only.
    await admin(
        rig,
        "POST",
        "incidents",
        {"title": "Everything is slow", "components": ["api", "web"], "author": "oncall"},
    )
    await within(10, lambda: len(rig.mails_to("carol@example.com")) == 2, "Carol told")
    await rig.scans(3)
    assert len(rig.mails_to("alice@example.com")) == 4
    assert len(rig.sink.accepted()) == 3


async def test_a_restart_tells_nothing_again(rig: Rig) -> None:
    # In one process the notifier queue drops a repeat by its delivery id; across a
    # restart (or a second engine) only the store's record of what was told does.
    await subscribe(rig, email="ivy@example.com")
    await within(10, lambda: len(rig.inbox) == 1)
    await follow_button(rig, link_in(rig.inbox[0], "subscriptions/confirm"))
    opened = await admin(
        rig, "POST", "incidents", {"title": "Slow", "components": ["web"], "author": "x"}
    )
    await within(10, lambda: len(rig.inbox) == 2, "the incident told")
    await rig.restart()
    await rig.scans(3)
    assert len(rig.inbox) == 2
    await admin(
        rig,
        "POST",
        f"incidents/{opened['id']}/updates",
        {"status": "monitoring", "message": "Watching.", "author": "x"},
    )
    await within(10, lambda: len(rig.inbox) == 3, "the update told")
    await rig.scans(3)
    assert [m["Subject"] for m in rig.inbox[1:]] == [
        "[Example status] New incident: Slow",
        "[Example status] Incident update: Slow",
    ]


async def test_maintenance_is_told_when_scheduled_started_and_completed(rig: Rig) -> None:
    await subscribe(rig, email="dana@example.com")
    await within(10, lambda: len(rig.inbox) == 1)
    await follow_button(rig, link_in(rig.inbox[0], "subscriptions/confirm"))
    start = datetime.now(UTC) + timedelta(seconds=2)
    await admin(
        rig,
        "POST",
        "maintenance",
        {
            "id": "db-move",
            "title": "Database move",
            "description": "Writes pause for a minute.",
            "components": ["web"],
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=1)).isoformat(),
            "author": "ops",
        },
    )
    await within(15, lambda: len(rig.inbox) == 4, "scheduled, started, completed")
    await rig.scans(3)
    assert [m["Subject"] for m in rig.inbox[1:]] == [
        "[Example status] Maintenance scheduled: Database move",
        "[Example status] Maintenance started: Database move",
        "[Example status] Maintenance completed: Database move",
    ]
    assert "Writes pause for a minute." in body_of(rig.inbox[1])
    assert "Affects: Website" in body_of(rig.inbox[1])


async def test_a_failing_webhook_is_retried_with_the_same_delivery(rig: Rig) -> None:
    rig.sink.fail_first = 2
    await subscribe(rig, email="erin@example.com", webhook=rig.sink_url)
    await within(10, lambda: len(rig.inbox) == 1)
    page = await follow_button(rig, link_in(rig.inbox[0], "subscriptions/confirm"))
    key = re.search(r'<code class="key">([0-9a-f]{64})</code>', page)
    assert key
    await admin(rig, "POST", "incidents", {"title": "Blip", "components": ["web"], "author": "x"})
    await within(10, lambda: len(rig.sink.accepted()) == 1, "delivered after two failures")
    attempts = rig.sink.seen
    assert [status for _, _, status in attempts] == [503, 503, 200]
    assert len({h["X-Slamon-Delivery"] for h, _, _ in attempts}) == 1
    assert all(signed_by(key.group(1), h, raw) for h, raw, _ in attempts)
    assert rig.mails_to("erin@example.com")[1:] == []  # a webhook subscriber gets no mail


async def test_the_form_refuses_what_it_cannot_send_to(rig: Rig) -> None:
    async def post(**form: str) -> tuple[int, str]:
        async with rig.http.post(rig.url + "subscriptions", data=form) as resp:
            return resp.status, await resp.text()

    status, page = await post(email="not an address")
    assert status == 400
    assert "That is not an email address." in page
    assert "not an address" not in page
    status, page = await post(email="x@example.com", webhook="file:///etc/passwd")
    assert status == 400
    assert "public internet" in page
    status, page = await post(email="x@example.com", component="nope")
    assert status == 400
    assert "Choose among the page" in page
    status, page = await post(email="x@example.com\r\nBcc: victim@example.org")
    assert status == 400
    await rig.scans(1)
    assert rig.inbox == []  # nothing was sent for any of them

    for link in ("subscriptions/confirm?token=forged.token", "subscriptions/unsubscribe?token=x.y"):
        async with rig.http.get(rig.url + link) as resp:
            assert resp.status == 400
            assert "This link does not work" in await resp.text()


async def test_the_form_is_rate_limited_and_mails_an_address_once_per_window(rig: Rig) -> None:
    # form_limit is 5 per client address: the sixth post is refused.
    for _ in range(5):
        async with rig.http.post(
            rig.url + "subscriptions", data={"email": "frank@example.com"}
        ) as resp:
            assert resp.status == 202
    async with rig.http.post(rig.url + "subscriptions", data={"email": "gus@example.com"}) as resp:
        assert resp.status == 429
        assert int(resp.headers["Retry-After"]) > 0
        assert "Too many requests" in await resp.text()
    await rig.scans(2)
    assert [m["To"] for m in rig.inbox] == ["frank@example.com"]  # asked five times, mailed once


async def test_admin_lists_exports_and_deletes_subscribers(rig: Rig) -> None:
    await subscribe(rig, email="hana@example.com", component=["web", "api"])
    await within(10, lambda: len(rig.inbox) == 1)
    await follow_button(rig, link_in(rig.inbox[0], "subscriptions/confirm"))
    async with rig.http.get(rig.url + "api/v1/admin/subscribers") as resp:
        assert resp.status == 401
    async with rig.http.get(rig.url + "api/v1/admin/subscribers", headers=AUTH) as resp:
        listed = (await resp.json())["subscribers"]
    assert [(s["kind"], s["email"], s["components"]) for s in listed] == [
        ("email", "hana@example.com", ["api", "web"])
    ]
    async with rig.http.get(rig.url + "api/v1/admin/subscribers?format=csv", headers=AUTH) as resp:
        assert resp.headers["Content-Type"].startswith("text/csv")
        lines = (await resp.text()).splitlines()
    assert lines[0] == "id,kind,email,webhook_url,components,confirmed_at"
    assert lines[1].startswith(f"{listed[0]['id']},email,hana@example.com,,api web,")
    url = rig.url + f"api/v1/admin/subscribers/{listed[0]['id']}"
    async with rig.http.delete(url, headers=AUTH) as resp:
        assert resp.status == 204
    async with rig.http.delete(url, headers=AUTH) as resp:
        assert resp.status == 404
    subs = rig.runtime.subscriptions
    assert subs is not None
    assert await subs.store.all() == []


def test_the_cli_lists_exports_and_deletes_subscribers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from slamon.cli.main import main
    from slamon.store import migrate
    from slamon.store.sql import Store
    from slamon.store.subscribers import Subscriber, SubscriberStore

    db = tmp_path / "cli.db"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[store]\nurl = "sqlite+aiosqlite:///{db}"\n')
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    async def fill() -> None:
        store = Store.from_url(f"sqlite+aiosqlite:///{db}")
        await migrate.upgrade(store.engine)
        subs = SubscriberStore(store)
        await subs.add(Subscriber("a" * 32, "email", "ida@example.com", None, (), at))
        await subs.add(
            Subscriber("b" * 32, "webhook", None, "https://hooks.example.com/x", ("api",), at)
        )
        await store.close()

    asyncio.run(fill())
    assert main(["subscribers", "list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"{'a' * 32}  email   ida@example.com  (all components)" in out
    assert "webhook https://hooks.example.com/x  api" in out
    export = tmp_path / "subs.csv"
    assert main(["subscribers", "export", "--config", str(cfg), "-o", str(export)]) == 0
    assert export.read_text().splitlines()[1:] == [
        f"{'a' * 32},email,ida@example.com,,,2026-11-27T12:00:00+00:00",
        f"{'b' * 32},webhook,,https://hooks.example.com/x,api,2026-11-27T12:00:00+00:00",
    ]
    # Deleted by address (what a person asking to be forgotten gives) and by id.
    assert main(["subscribers", "delete", "--config", str(cfg), "ida@example.com"]) == 0
    assert main(["subscribers", "delete", "--config", str(cfg), "nobody@example.com"]) == 1
    assert main(["subscribers", "delete", "--config", str(cfg), "b" * 32]) == 0
    capsys.readouterr()
    assert main(["subscribers", "list", "--json", "--config", str(cfg)]) == 0
    assert json.loads(capsys.readouterr().out) == []


# -- the pieces, without a server ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "private_ok", "accepted"),
    [
        ("https://hooks.example.com/status", False, True),
        ("http://hooks.example.com:8080/x?y=1", False, True),
        ("http://127.0.0.1:9/x", False, False),
        ("http://127.0.0.1:9/x", True, True),
        ("http://10.1.2.3/", False, False),
        ("http://169.254.169.254/latest/meta-data/", False, False),
        ("http://[::1]:8080/", False, False),
        ("http://localhost:8080/", False, False),
        ("http://printer.local/", False, False),
        ("http://user:pw@hooks.example.com/", False, False),
        ("ftp://hooks.example.com/", False, False),
        ("http://hooks.example.com:99999/", False, False),
        ("javascript:alert(1)", True, False),
    ],
)
def test_webhook_urls(url: str, private_ok: bool, accepted: bool) -> None:
    from slamon.web.subscriptions import webhook_url

    assert (webhook_url(url, private_ok) == url) is accepted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alice@Example.COM", "Alice@example.com"),
        ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org"),
        ("no-at-sign", None),
        ("a@localhost", None),
        ("a@example.com\r\nBcc: x@example.org", None),
        ("Alice <alice@example.com>", None),
        ("a@@example.com", None),
        ("", None),
        ("a" * 250 + "@example.com", None),
    ],
)
def test_email_addresses(text: str, expected: str | None) -> None:
    from slamon.web.subscriptions import normal_email

    assert normal_email(text) == expected


async def test_webhooks_resolve_to_public_addresses_only() -> None:
    from slamon.alerting.notify.subscriber import PublicResolver

    resolver = PublicResolver()
    try:
        with pytest.raises(OSError, match="no public address"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


def test_signed_links_expire_and_serve_one_purpose() -> None:
    from slamon.alerting.notify.signing import (
        BadToken,
        sign,
        unsubscribe_id,
        unsubscribe_token,
        verify,
    )

    secret = SECRET.encode()
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    token = sign(secret, "confirm", {"e": "a@example.com"}, now + timedelta(hours=48))
    assert verify(secret, "confirm", token, now)["e"] == "a@example.com"
    with pytest.raises(BadToken, match="expired"):
        verify(secret, "confirm", token, now + timedelta(hours=48))
    with pytest.raises(BadToken):
        verify(secret, "unsubscribe", token, now)  # signed for another purpose
    with pytest.raises(BadToken):
        verify(b"another secret of forty characters......", "confirm", token, now)
    _body, sig = token.split(".")
    forged = sign(secret, "confirm", {"e": "b@example.com"}, now + timedelta(hours=1))
    with pytest.raises(BadToken):
        verify(secret, "confirm", f"{forged.split('.')[0]}.{sig}", now)
    leave = unsubscribe_token(secret, "f" * 32)
    assert unsubscribe_id(secret, leave) == "f" * 32
    with pytest.raises(BadToken):
        unsubscribe_id(secret, "e" * 32 + "." + leave.split(".")[1])


def test_the_rate_limiter_counts_within_its_window() -> None:
    from slamon.web.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.allow("k", 2, 60) for _ in range(3)] == [True, True, False]
    assert limiter.retry_after("k", 60) == 60
    now[0] = 59.9
    assert not limiter.allow("k", 2, 60)
    now[0] = 60.0
    assert limiter.allow("k", 2, 60)  # the first use left the window
    assert limiter.allow("other", 2, 60)


async def test_the_subscriber_store_on_each_database(store) -> None:  # type: ignore[no-untyped-def]
    from slamon.store.subscribers import Subscriber, SubscriberStore

    subs = SubscriberStore(store)
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    alice = Subscriber("a" * 32, "email", "alice@example.com", None, ("api",), at)
    await subs.add(alice)
    await subs.add(Subscriber("b" * 32, "webhook", None, "https://h.example.com/", (), at))
    # Confirming again is the same subscriber, with what it chose this time.
    await subs.add(Subscriber("a" * 32, "email", "alice@example.com", None, ("api", "web"), at))
    assert await subs.get("a" * 32) == Subscriber(
        "a" * 32, "email", "alice@example.com", None, ("api", "web"), at
    )
    assert [s.id for s in await subs.all()] == ["a" * 32, "b" * 32]
    assert await subs.remove("b" * 32)
    assert not await subs.remove("b" * 32)
    assert not await subs.any_told()
    assert await subs.claim(["k1", "k2"], at) == ["k1", "k2"]
    assert await subs.claim(["k2", "k3"], at + timedelta(days=1)) == ["k3"]  # k2 was told
    assert await subs.told(["k1", "k3", "k9"]) == {"k1", "k3"}
    assert await subs.any_told()
    assert await subs.forget_before(at + timedelta(hours=1)) == 2
    assert await subs.told(["k1", "k2", "k3"]) == {"k3"}
