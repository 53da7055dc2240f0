"""Leases in PostgreSQL: who holds each shard and the leader role, by the database's clock.

A lease is one row of ``leases``: ``owner`` (NULL when free), ``epoch`` and
``expires_at``. Every operation is one SQL statement that compares and sets on owner
and epoch, with ``now()`` of the database as the only clock, so engines whose clocks
disagree still agree on who holds what:

- acquire: take a lease that is free, released or expired; its epoch grows by one
  (a new owner never shares an epoch with an old one);
- renew: push the expiry of the leases this engine still holds at their epoch;
  one that is gone (expired and taken) is not renewed and is reported lost;
- release: give a lease up at once (SIGTERM, rebalancing), so another engine need not
  wait for it to expire; the epoch stays, and who released it and why are kept.

The store's writer fences every write of a shard by the lease (``Store.write_batch``
reads owner and epoch ``FOR SHARE`` in the same transaction): a taker's UPDATE waits
for such a write to commit, and a write after the taking is refused. ``cluster_members``
holds each engine's heartbeat and how many shards it holds; the members seen within a
lease's time share the shards evenly (``target``, ``over_share``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

LEADER = "leader"


def shard_lease(shard: int) -> str:
    """The lease name of ``shard``."""
    return f"shard/{shard}"


def target(shards: int, members: int) -> int:
    """How many shards each of ``members`` live engines should hold (at most)."""
    return math.ceil(shards / max(1, members))


def over_share(shards: int, holding: dict[str, int], me: str) -> int:
    """How many shards ``me`` should give up for an even spread over ``holding``'s engines.

    Above ``target`` (the ceiling of an even share) always; above the floor too while
    another live engine holds less than the floor (one that just joined), so that an
    uneven count (4 shards on 3 engines) ends 2, 1, 1 and never 2, 2, 0.
    """
    members = max(1, len(holding))
    mine = holding.get(me, 0)
    ceiling = target(shards, members)
    if mine > ceiling:
        return mine - ceiling
    floor = shards // members
    if mine > floor and any(n < floor for engine, n in holding.items() if engine != me):
        return 1
    return 0


@dataclass(frozen=True, slots=True)
class Acquired:
    """A lease just taken: its epoch, and how the previous owner let it go."""

    name: str
    epoch: int
    now: datetime  # the database's clock when it was taken
    free_since: datetime | None  # when the previous holding ended (release or expiry)
    previous_owner: str | None
    reason: str | None  # released | rebalance | expired; None for a lease never held


_ACQUIRE = text(
    """
    WITH old AS (
        SELECT owner, expires_at, released_by, released_why FROM leases WHERE name = :name
    )
    INSERT INTO leases AS l (name, owner, epoch, expires_at, acquired_at)
    VALUES (:name, :owner, 1, now() + make_interval(secs => :ttl), now())
    ON CONFLICT (name) DO UPDATE
        SET owner = EXCLUDED.owner, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at,
            acquired_at = EXCLUDED.acquired_at, released_by = NULL, released_why = NULL
        WHERE l.owner IS NULL OR l.expires_at <= now()
    RETURNING l.epoch, now(),
        (SELECT expires_at FROM old), (SELECT owner FROM old),
        (SELECT released_by FROM old), (SELECT released_why FROM old)
    """
)

_RENEW = text(
    """
    UPDATE leases SET expires_at = now() + make_interval(secs => :ttl)
    WHERE owner = :owner AND name = ANY(:names) AND expires_at > now()
    RETURNING name, epoch
    """
)

_RELEASE = text(
    """
    UPDATE leases SET owner = NULL, expires_at = now(), released_by = :owner,
        released_why = :why
    WHERE name = :name AND owner = :owner AND epoch = :epoch
    """
)

# Released leases and members joining or leaving are told on this channel.
CHANNEL = "slamon_cluster"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', :what)")

_HEARTBEAT = text(
    """
    INSERT INTO cluster_members (engine_id, seen_at, shards_wanted)
    VALUES (:engine, now(), :wanted)
    ON CONFLICT (engine_id) DO UPDATE SET seen_at = now(), shards_wanted = EXCLUDED.shards_wanted
    """
)

_MEMBERS = text(
    """
    SELECT engine_id, shards_wanted FROM cluster_members
    WHERE seen_at > now() - make_interval(secs => :ttl) ORDER BY engine_id
    """
)

_FREE = text(
    """
    SELECT name FROM leases
    WHERE name = ANY(:names) AND owner IS NOT NULL AND expires_at > now()
    """
)

_AGES = text("SELECT name, owner, epoch, extract(epoch FROM now() - acquired_at) FROM leases")


class Leases:
    """The lease operations of one engine (``owner``) on the database behind ``engine``."""

    def __init__(self, engine: AsyncEngine, owner: str, ttl: float) -> None:
        self.engine = engine
        self.owner = owner
        self.ttl = float(ttl)

    async def acquire(self, name: str) -> Acquired | None:
        """Take ``name`` if it is free, released or expired; None if another holds it."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(_ACQUIRE, {"name": name, "owner": self.owner, "ttl": self.ttl})
            ).one_or_none()
        if row is None:
            return None
        epoch, now, expired, old_owner, released_by, why = row
        if released_by is not None:
            reason: str | None = why or "released"
        elif old_owner is not None:
            reason = "expired"
        else:
            reason = None
        return Acquired(name, int(epoch), now, expired, released_by or old_owner, reason)

    async def renew(self, held: dict[str, int]) -> dict[str, int]:
        """Renew the leases ``held`` (name: epoch); return those still held at that epoch."""
        if not held:
            return {}
        async with self.engine.begin() as conn:
            rows = await conn.execute(
                _RENEW, {"owner": self.owner, "names": list(held), "ttl": self.ttl}
            )
            renewed = {name: int(epoch) for name, epoch in rows}
        return {name: epoch for name, epoch in renewed.items() if held.get(name) == epoch}

    async def release(self, name: str, epoch: int, why: str = "released") -> bool:
        """Give up ``name`` at once; False if it was no longer ours at ``epoch``.

        The other engines hear of it (``NOTIFY``) and take it without waiting for
        their next round.
        """
        async with self.engine.begin() as conn:
            result = await conn.execute(
                _RELEASE, {"name": name, "owner": self.owner, "epoch": epoch, "why": why}
            )
            if result.rowcount:
                await conn.execute(_NOTIFY, {"what": f"released {name}"})
        return bool(result.rowcount)

    async def notify(self, what: str) -> None:
        """Wake the other engines' rounds (a member joined or left)."""
        async with self.engine.begin() as conn:
            await conn.execute(_NOTIFY, {"what": what})

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` on every notification until cancelled or the connection is lost.

        One connection of the pool is held for it (PostgreSQL delivers notifications
        on the session that listens).
        """
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None

            def heard(*_args: object) -> None:
                wake()

            closed = asyncio.Event()
            driver.add_termination_listener(lambda *_args: closed.set())
            await driver.add_listener(CHANNEL, heard)
            try:
                await closed.wait()
            finally:
                if not driver.is_closed():
                    await driver.remove_listener(CHANNEL, heard)

    async def heartbeat(self, held: int) -> dict[str, int]:
        """Say this engine is alive and holds ``held`` shards.

        Returns the engines seen alive within a lease's time, with the shards each held
        at its last heartbeat.
        """
        async with self.engine.begin() as conn:
            await conn.execute(_HEARTBEAT, {"engine": self.owner, "wanted": held})
            rows = await conn.execute(_MEMBERS, {"ttl": self.ttl})
            return {r[0]: int(r[1]) for r in rows}

    async def leave(self) -> None:
        """Forget this engine's heartbeat (a clean stop): the others rebalance at once."""
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM cluster_members WHERE engine_id = :engine"),
                {"engine": self.owner},
            )
            await conn.execute(_NOTIFY, {"what": f"left {self.owner}"})

    async def taken(self, names: Iterable[str]) -> set[str]:
        """Of ``names``, those some engine holds now (unexpired)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(_FREE, {"names": list(names)})
            return {r[0] for r in rows}

    async def ages(self) -> dict[str, tuple[str | None, int, float]]:
        """Every lease: owner, epoch, seconds since it was taken."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(_AGES)
            return {
                name: (owner, int(epoch), float(age) if age is not None else 0.0)
                for name, owner, epoch, age in rows
            }
