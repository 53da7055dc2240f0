"""Status page subscribers and the announcements told to them, on SQLite or PostgreSQL.

Only confirmed subscribers are stored (an unconfirmed one lives in its signed
confirmation link), with as little as delivery needs: see ``schema.subscribers``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from slamon.store.dialects import insert_ignore, upsert
from slamon.store.schema import announcements, subscribers

if TYPE_CHECKING:
    from slamon.store.sql import Store

EMAIL = "email"
WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A confirmed subscriber: an address to mail, or a URL to POST to.

    ``components`` empty means every component, present and future.
    """

    id: str
    kind: str
    email: str | None
    webhook_url: str | None
    components: tuple[str, ...]
    confirmed_at: datetime

    def __post_init__(self) -> None:
        if self.kind not in (EMAIL, WEBHOOK):
            raise ValueError(f"subscriber kind must be email or webhook, not {self.kind!r}")
        if (self.kind == EMAIL) != (self.email is not None and self.webhook_url is None):
            raise ValueError("an email subscriber has an address; a webhook one a URL only")

    @property
    def target(self) -> str:
        """Where its messages go: the address or the URL."""
        return self.email if self.email is not None else self.webhook_url or ""

    def wants(self, component_ids: Iterable[str]) -> bool:
        """Whether an event about ``component_ids`` is for this subscriber."""
        return not self.components or bool(set(self.components) & set(component_ids))


def _from_row(row: object) -> Subscriber:
    components = str(row.components)  # type: ignore[attr-defined]
    return Subscriber(
        id=row.id,  # type: ignore[attr-defined]
        kind=row.kind,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        webhook_url=row.webhook_url,  # type: ignore[attr-defined]
        components=tuple(components.split()) if components else (),
        confirmed_at=row.confirmed_at,  # type: ignore[attr-defined]
    )


class SubscriberStore:
    """Adds, reads and deletes subscribers; claims announcements."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, subscriber: Subscriber) -> None:
        """Store a confirmed subscriber (confirming again replaces its components)."""
        stmt = upsert(subscribers, self.store.dialect, ["id"])
        async with self.store.engine.begin() as conn:
            await conn.execute(
                stmt,
                [
                    {
                        "id": subscriber.id,
                        "kind": subscriber.kind,
                        "email": subscriber.email,
                        "webhook_url": subscriber.webhook_url,
                        "components": " ".join(subscriber.components),
                        "confirmed_at": subscriber.confirmed_at,
                    }
                ],
            )

    async def get(self, subscriber_id: str) -> Subscriber | None:
        """The subscriber with that id, if still subscribed."""
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id))
            ).first()
        return _from_row(row) if row is not None else None

    async def all(self) -> list[Subscriber]:
        """Every subscriber, oldest first."""
        stmt = select(subscribers).order_by(subscribers.c.confirmed_at, subscribers.c.id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_from_row(r) for r in rows]

    async def remove(self, subscriber_id: str) -> bool:
        """Delete a subscriber; False when there was none."""
        async with self.store.engine.begin() as conn:
            result = await conn.execute(
                delete(subscribers).where(subscribers.c.id == subscriber_id)
            )
        return bool(result.rowcount)

    async def any_told(self) -> bool:
        """Whether anything was ever announced (a first run tells nothing old)."""
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(announcements.c.key).limit(1))).first()
        return row is not None

    async def claim(self, keys: Sequence[str], at: datetime) -> list[str]:
        """Record ``keys`` as told; return those not recorded before (in order)."""
        if not keys:
            return []
        stmt = insert_ignore(announcements, self.store.dialect, returning=[announcements.c.key])
        claimed: set[str] = set()
        async with self.store.engine.begin() as conn:
            for key in keys:
                result = await conn.execute(stmt, [{"key": key, "told_at": at}])
                claimed.update(r[0] for r in result.all())
        return [k for k in keys if k in claimed]

    async def told(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` were told already."""
        out: set[str] = set()
        async with self.store.engine.connect() as conn:
            for start in range(0, len(keys), 300):
                chunk = keys[start : start + 300]
                rows = await conn.execute(
                    select(announcements.c.key).where(announcements.c.key.in_(chunk))
                )
                out.update(r[0] for r in rows)
        return out

    async def forget_before(self, before: datetime) -> int:
        """Drop announcement records older than ``before`` (their events are long past)."""
        async with self.store.engine.begin() as conn:
            result = await conn.execute(
                delete(announcements).where(announcements.c.told_at < before)
            )
        return int(result.rowcount or 0)


def subscriber_json(s: Subscriber) -> dict[str, Any]:
    """A subscriber as the admin API and the CLI show it."""
    return {
        "id": s.id,
        "kind": s.kind,
        "email": s.email,
        "webhook_url": s.webhook_url,
        "components": list(s.components),
        "confirmed_at": s.confirmed_at.isoformat(),
    }


def subscribers_csv(subscribers: Iterable[Subscriber]) -> str:
    """The export: a header and one line per subscriber, components space-separated."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "kind", "email", "webhook_url", "components", "confirmed_at"])
    for s in subscribers:
        writer.writerow(
            [
                s.id,
                s.kind,
                s.email or "",
                s.webhook_url or "",
                " ".join(s.components),
                s.confirmed_at.isoformat(),
            ]
        )
    return out.getvalue()
