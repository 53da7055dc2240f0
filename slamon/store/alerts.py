"""Active alerts and the notification outbox in the store (see ``schema``).

One writer at a time (the alert journal's task); reads happen at start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update

from slamon.events import Alert, alert_from_json, alert_json
from slamon.store import dialects
from slamon.store.schema import active_alerts, notification_outbox

if TYPE_CHECKING:
    from slamon.store.sql import Store


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert fired (``alert.firing``) or resolved, to be told to ``notifiers``."""

    alert: Alert
    key: str  # the message's idempotency key
    notifiers: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notifier delivered (or gave up on) the message with ``key``."""

    notifier_id: str
    key: str
    at: datetime
    sent: bool
    attempts: int
    error: str = ""


@dataclass(frozen=True, slots=True)
class Unsent:
    """An outbox row still to be sent."""

    notifier_id: str
    key: str
    alert: Alert


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


class AlertStore:
    """Reads and writes ``active_alerts`` and ``notification_outbox``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def active(self) -> list[Alert]:
        """Every alert firing when the last run stopped."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    active_alerts.c.labels, active_alerts.c.annotations, active_alerts.c.starts_at
                ).order_by(active_alerts.c.starts_at, active_alerts.c.fingerprint)
            )
            return [
                Alert(
                    MappingProxyType(json.loads(labels)),
                    MappingProxyType(json.loads(annotations)),
                    starts,
                )
                for labels, annotations, starts in rows
            ]

    async def write(self, changes: Sequence[AlertChange], deliveries: Sequence[Delivery]) -> None:
        """Apply alert changes (active set and outbox rows), then deliveries, in one go."""
        dialect = self.store.dialect
        async with self.store.engine.begin() as conn:
            for c in changes:
                a = c.alert
                if a.firing:
                    await conn.execute(
                        dialects.upsert(active_alerts, dialect, ["fingerprint"]),
                        {
                            "fingerprint": a.fingerprint,
                            "alertname": a.name,
                            "labels": _dumps(dict(a.labels)),
                            "annotations": _dumps(dict(a.annotations)),
                            "starts_at": a.starts_at or c.at,
                            "updated_at": c.at,
                        },
                    )
                else:
                    await conn.execute(
                        delete(active_alerts).where(active_alerts.c.fingerprint == a.fingerprint)
                    )
                if c.notifiers:
                    body = _dumps(alert_json(a))
                    await conn.execute(
                        dialects.insert_ignore(notification_outbox, dialect),
                        [
                            {
                                "notifier_id": n,
                                "key": c.key,
                                "kind": "alert",
                                "body": body,
                                "created_at": c.at,
                            }
                            for n in c.notifiers
                        ],
                    )
            for d in deliveries:
                done = {"sent_at": d.at} if d.sent else {"given_up_at": d.at}
                await conn.execute(
                    update(notification_outbox)
                    .where(
                        notification_outbox.c.notifier_id == d.notifier_id,
                        notification_outbox.c.key == d.key,
                    )
                    .values(**done, attempts=d.attempts, last_error=d.error[:500])
                )

    async def unsent(self, notifier_ids: Iterable[str]) -> list[Unsent]:
        """Messages a notifier was to send and has not, oldest first."""
        ids = list(notifier_ids)
        if not ids:
            return []
        o = notification_outbox.c
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(o.notifier_id, o.key, o.body)
                .where(o.sent_at.is_(None), o.given_up_at.is_(None), o.notifier_id.in_(ids))
                .order_by(o.created_at, o.key)
            )
            return [Unsent(n, k, alert_from_json(json.loads(body))) for n, k, body in rows]

    async def prune(self, before: datetime) -> int:
        """Forget messages settled (sent or given up) before ``before``."""
        o = notification_outbox.c
        async with self.store.engine.begin() as conn:
            res = await conn.execute(
                delete(notification_outbox).where(
                    ((o.sent_at.is_not(None)) & (o.sent_at < before))
                    | ((o.given_up_at.is_not(None)) & (o.given_up_at < before))
                )
            )
            return res.rowcount or 0
