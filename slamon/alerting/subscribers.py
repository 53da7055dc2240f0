"""Status page subscribers: confirmation mails, and telling each public event once.

The events come from the store, not from whoever made them: incidents opened by the
engine, updated through the admin API or written by ``slamon incident`` in another
process, and maintenance windows from the config and the store. Every
``scan_interval`` (at once when poked, and at each window's start and end) the
incidents of the last week and the windows around now are turned into their events:

* an incident: ``created`` (its first timeline entry), ``updated`` (each later
  entry), ``resolved`` (an entry that resolves it);
* a one-off maintenance window: ``scheduled`` (seen before it starts), ``started``,
  ``completed``. Recurring occurrences are routine and not told (as in the feed).

Each event has a key; a key is claimed in the store (``announcements``) before the
event is told, so it is told once, whatever restarts or other engines do. The very
first scan records what exists without telling it; an event older than a day when
first seen is recorded, not told. Only what the public page shows is told: an
incident of no public component is not, and authors and exclusion reasons never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sla_engine.incidents import IncidentStatus
from sla_engine.time.intervals import Interval
from slamon.alerting.notify.signing import sign, subscriber_id, verify
from slamon.alerting.notify.subscriber import (
    EVENT,
    Announcement,
    Confirmation,
    Delivery,
    Links,
    SubscriberMailer,
    SubscriberMessage,
    SubscriberWebhook,
)
from slamon.alerting.notify.worker import NotifierWorker
from slamon.store.incidents import load_incidents, load_maintenance
from slamon.store.subscribers import EMAIL, WEBHOOK, Subscriber, SubscriberStore
from statuspage.api import StatuspageApi
from statuspage.i18n import Locale
from statuspage.snapshot import IncidentView, MaintenanceView, PageSnapshot

if TYPE_CHECKING:
    from sla_engine.incidents import Incident, IncidentUpdate, MaintenanceWindow
    from slamon.alerting.notify.hub import NotificationHub
    from slamon.config.model import Config
    from slamon.store.sql import Store

log = logging.getLogger("slamon.subscribers")

LOOKBACK = timedelta(days=7)  # incidents and windows looked at, back from now
AHEAD = timedelta(days=30)  # windows looked at ahead ("scheduled" is told this early)
FRESH = timedelta(days=1)  # an event first seen later than this is recorded, not told
FORGET = timedelta(days=90)  # records of told events are kept this long
_BASELINE = "baseline"
Documents = Callable[[], Awaitable[Mapping[str, bytes]]]


@dataclass(frozen=True, slots=True)
class _Event:
    key: str
    at: datetime
    kind: str
    event: str
    incident: Incident | None = None
    update: IncidentUpdate | None = None
    window: MaintenanceWindow | None = None


def _update_key(incident_id: str, u: IncidentUpdate) -> str:
    digest = hashlib.sha256(
        "\x00".join((u.at.isoformat(), u.status.value, u.message)).encode()
    ).hexdigest()[:20]
    return f"incident:{incident_id}:{digest}"


def incident_events(incident: Incident) -> list[_Event]:
    """The events of an incident's timeline: created, then updated or resolved."""
    updates = sorted(incident.updates, key=lambda u: u.at)
    out = [
        _Event(
            f"incident:{incident.id}:created",
            incident.opened,
            "incident",
            "created",
            incident,
            updates[0] if updates else None,
        )
    ]
    for u in updates[1:]:
        event = "resolved" if u.status is IncidentStatus.RESOLVED else "updated"
        out.append(_Event(_update_key(incident.id, u), u.at, "incident", event, incident, u))
    return out


def maintenance_events(window: MaintenanceWindow, now: datetime) -> list[_Event]:
    """The events of a one-off window that are due at ``now``."""
    if "@" in window.id:  # a recurring occurrence: routine
        return []
    key = f"maintenance:{window.id}:{window.start.isoformat()}"
    if now < window.start:
        return [_Event(f"{key}:scheduled", now, "maintenance", "scheduled", window=window)]
    out = [_Event(f"{key}:started", window.start, "maintenance", "started", window=window)]
    if now >= window.end:
        out.append(
            _Event(f"{key}:completed", window.end, "maintenance", "completed", window=window)
        )
    return out


class Subscriptions:
    """Subscribers' deliveries (workers on the notification hub) and the announcer."""

    def __init__(
        self,
        config: Config,
        store: Store,
        hub: NotificationHub,
        documents: Documents,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.settings = s = config.subscriptions
        assert s.enabled
        assert s.smtp is not None
        self.secret = s.secret_bytes()
        self.store = SubscriberStore(store)
        self.raw_store = store
        self.documents = documents
        self.clock = clock
        sp = config.statuspage
        self.loc = Locale(sp.language, sp.timezone)
        self.page = sp.title
        self.links = Links(sp.url.rstrip("/") + "/", self.secret)
        self.names = {c.id: c.name for c in config.effective_components()}

        def worker(name: str, kind: str, notifier: Any) -> NotifierWorker[SubscriberMessage]:
            return NotifierWorker(
                name,
                kind,
                notifier,
                events=frozenset({EVENT}),
                queue_size=s.queue_size,
                timeout=s.timeout,
                retries=s.retries,
                backoff=s.backoff,
            )

        self.mail = worker(
            "subscribers-email",
            "subscriber-email",
            SubscriberMailer(s.smtp, s.sender, self.links, self.store, self.footer),
        )
        self.webhooks = [
            worker(
                f"subscribers-webhook-{k}",
                "subscriber-webhook",
                SubscriberWebhook(self.links, self.store, private_ok=s.webhook_private),
            )
            for k in range(s.webhook_workers)
        ]
        hub.workers.extend([self.mail, *self.webhooks])
        self._wake = asyncio.Event()
        self.told = 0  # events told since start
        self.scans = 0  # scans finished since start

    # -- words ---------------------------------------------------------------------

    def scope(self, components: Sequence[str]) -> str:
        """``all components``, or the chosen components' names."""
        if not components:
            return self.loc.t("subscribe.all")
        return ", ".join(self.names.get(c, c) for c in components)

    def footer(self, subscriber: Subscriber) -> str:
        """The words before a subscriber's unsubscribe link."""
        return self.loc.t("mail.footer", page=self.page, scope=self.scope(subscriber.components))

    # -- subscribing ---------------------------------------------------------------

    def confirmation_token(self, kind: str, email: str, url: str, components: Sequence[str]) -> str:
        """The signed, expiring token of a confirmation link."""
        expires = self.clock() + timedelta(seconds=self.settings.confirm_within)
        payload = {"k": kind, "e": email, "u": url, "c": list(components)}
        return sign(self.secret, "confirm", payload, expires)

    def read_confirmation(self, token: str) -> dict[str, Any]:
        """The request a confirmation token carries; BadToken when forged or expired."""
        return verify(self.secret, "confirm", token, self.clock())

    def send_confirmation(self, kind: str, email: str, url: str, components: Sequence[str]) -> bool:
        """Queue the confirmation mail; False when the queue is full."""
        token = self.confirmation_token(kind, email, url, components)
        link = f"{self.links.base}subscriptions/confirm?token={token}"
        t = self.loc.t
        scope = self.scope(components)
        asked = (
            t("mail.confirm_webhook", page=self.page, url=url, scope=scope)
            if kind == WEBHOOK
            else t("mail.confirm_email", page=self.page, scope=scope)
        )
        hours = int(self.settings.confirm_within // 3600)
        text = "\n\n".join(
            [asked, t("mail.confirm_link", hours=hours), link, t("mail.confirm_ignore")]
        )
        return self.mail.offer(Confirmation(email, t("mail.confirm_subject", page=self.page), text))

    async def confirm(self, request: Mapping[str, Any]) -> Subscriber:
        """Store the subscriber a verified confirmation asked for (again: the same one)."""
        kind = request["k"]
        target = request["u"] if kind == WEBHOOK else request["e"]
        known = set(self.names)
        subscriber = Subscriber(
            id=subscriber_id(self.secret, kind, target),
            kind=kind,
            email=request["e"] if kind == EMAIL else None,
            webhook_url=request["u"] if kind == WEBHOOK else None,
            components=tuple(c for c in request["c"] if c in known),
            confirmed_at=self.clock(),
        )
        await self.store.add(subscriber)
        log.info("subscriber %s (%s) confirmed", subscriber.id, kind)
        return subscriber

    # -- announcing ----------------------------------------------------------------

    def poke(self) -> None:
        """Something changed: scan now."""
        self._wake.set()

    async def run(self) -> None:
        """Scan until cancelled."""
        while True:
            wait = self.settings.scan_interval
            try:
                wait = min(wait, await self.scan(self.clock()))
            except Exception:
                log.exception("telling subscribers failed; will try again")
            self.scans += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.05)):
                    await self._wake.wait()
            self._wake.clear()

    async def scan(self, now: datetime) -> float:
        """Tell every new event; return seconds until the next window boundary."""
        incidents = await load_incidents(self.raw_store, Interval(now - LOOKBACK, now))
        windows = await load_maintenance(
            self.config, self.raw_store, Interval(now - LOOKBACK, now + AHEAD)
        )
        public = set(self.names)
        events = [e for i in incidents if set(i.component_ids) & public for e in incident_events(i)]
        events += [
            e for w in windows if set(w.component_ids) & public for e in maintenance_events(w, now)
        ]
        events.sort(key=lambda e: (e.at, e.key))
        bounds = [b for w in windows for b in (w.start, w.end) if b > now]
        next_bound = (min(bounds) - now).total_seconds() if bounds else float("inf")
        if not await self.store.any_told():
            # First run: what exists now is history, not news.
            await self.store.claim([_BASELINE, *(e.key for e in events)], now)
            return next_bound
        told = await self.store.told([e.key for e in events])
        new = [e for e in events if e.key not in told]
        if not new:
            return next_bound
        stale = [e for e in new if now - e.at > FRESH]
        await self.store.claim([e.key for e in stale], now)
        fresh = [e for e in new if now - e.at <= FRESH]
        if not fresh:
            return next_bound
        docs = await self.documents()
        subscribers = await self.store.all()
        for e in fresh:
            announcement = self._announcement(e, docs, now, public)
            if not await self.store.claim([e.key], now):
                continue  # another engine told it
            self._fan_out(announcement, subscribers)
        await self.store.forget_before(now - FORGET)
        return next_bound

    def _fan_out(self, announcement: Announcement, subscribers: Sequence[Subscriber]) -> None:
        self.told += 1
        for sub in subscribers:
            if not sub.wants(announcement.component_ids):
                continue
            delivery = Delivery(announcement, sub)
            if sub.kind == EMAIL:
                self.mail.offer(delivery)
            else:
                shard = int(sub.id[:8], 16) % len(self.webhooks)
                self.webhooks[shard].offer(delivery)

    def _announcement(
        self, e: _Event, docs: Mapping[str, bytes], now: datetime, public: set[str]
    ) -> Announcement:
        sp = self.config.statuspage
        summary = json.loads(docs["api/v2/summary.json"])
        components = json.loads(docs["api/v2/components.json"])["components"]
        t = self.loc.t
        lines: list[str] = []
        if e.incident is not None:
            view = IncidentView.of(e.incident)
            view = replace(view, component_ids=tuple(c for c in view.component_ids if c in public))
            snapshot = PageSnapshot(
                sp.title,
                sp.description,
                sp.timezone,
                sp.language,
                sp.url,
                now,
                (),
                incidents=(view,),
            )
            obj = StatuspageApi(snapshot).embedding(components).incident(view)
            title, ids = view.title, view.component_ids
            lines.append(
                f"{t('incident.' + view.status.value)} \u00b7 {t('impact.' + view.impact.value)}"
            )
            link = f"{self.links.base}incidents/{view.id}.html"
            if e.update is not None:
                status = t("incident." + e.update.status.value)
                lines.append(f"{self.loc.datetime(e.update.at)}, {status}: {e.update.message}")
        else:
            assert e.window is not None
            mview = MaintenanceView.of(e.window)
            ids = tuple(c for c in mview.component_ids if c in public)
            mview = replace(mview, component_ids=ids)
            snapshot = PageSnapshot(
                sp.title,
                sp.description,
                sp.timezone,
                sp.language,
                sp.url,
                now,
                (),
                maintenance=(mview,),
            )
            obj = StatuspageApi(snapshot).embedding(components).maintenance(mview)
            title, ids = mview.title, mview.component_ids
            lines.append(
                f"{self.loc.datetime(mview.start)} {t('until')} {self.loc.datetime(mview.end)}"
            )
            if mview.description:
                lines.append(mview.description)
            link = f"{self.links.base}index.html#maintenance-{mview.id}"
        headline = t(f"mail.{e.kind}.{e.event}", title=title)
        names = ", ".join(self.names[c] for c in ids)
        text = "\n\n".join([headline, *lines[:1], f"{t('affects')}: {names}", *lines[1:]])
        text += f"\n\n{t('mail.details')} {link}"
        status = summary["status"]
        body = {
            "page": {
                "id": summary["page"]["id"],
                "status_indicator": status["indicator"],
                "status_description": status["description"],
            },
            "incident": obj,
        }
        return Announcement(
            key=e.key,
            kind=e.kind,
            event=e.event,
            component_ids=ids,
            subject=f"[{self.page}] {headline}",
            text=text,
            body=body,
            at=e.at,
        )
