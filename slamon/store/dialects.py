"""What differs between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` with the settings each database needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, poolclass=NullPool if ":memory:" not in url else None)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the web server read while the writer commits; NORMAL sync is
            # durable across a process crash (only an OS crash can lose the last commit).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)


def _dialect_insert(table: Table, dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(table: Table, dialect: str, returning: Sequence[Any] = ()) -> Insert:
    """INSERT that skips rows whose primary key exists (idempotent ingestion)."""
    stmt = _dialect_insert(table, dialect).on_conflict_do_nothing()
    if returning:
        stmt = stmt.returning(*returning)
    return stmt  # type: ignore[no-any-return]


def upsert(table: Table, dialect: str, keys: Sequence[str]) -> Insert:
    """INSERT that overwrites the non-key columns of an existing row."""
    stmt = _dialect_insert(table, dialect)
    update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=update)  # type: ignore[no-any-return]
