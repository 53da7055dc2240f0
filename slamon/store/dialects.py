"""What differs between SQLite and PostgreSQL, in one place."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Insert, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` with the settings each database needs."""
    if url.startswith("sqlite"):
        # Pooled: a connection per write would start each batch with a cold page cache
        # (the writer's batches took half again as long with NullPool).
        engine = create_async_engine(url)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the web server read while the writer commits; NORMAL sync is
            # durable across a process crash (only an OS crash can lose the last commit).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            # The results' indexes grow by the minute: a larger page cache and
            # memory-mapped reads keep their hot pages out of read() calls.
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA mmap_size=268435456")
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


# -- bulk writes on the ingest path ----------------------------------------------------
#
# The writer's statements, as SQL text straight to the driver: at 10,000 results per
# second SQLAlchemy's per-row parameter processing cost more than the database's own
# work (bench/ingest_stages.py). Each takes rows as tuples of database values (see
# ``instant``) in the order of ``columns``. Everything else in the store stays on
# SQLAlchemy Core. Table, column and clause names here are this module's constants,
# never input.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# SQLite limits the bound parameters of one statement (999 before 3.32).
_SQLITE_PARAMS = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
# PostgreSQL array types for unnest(), by column.
_PG_TYPES = {
    "results": {
        "id": "varchar",
        "monitor_id": "varchar",
        "location": "varchar",
        "at": "timestamptz",
        "state": "varchar",
        "latency": "float8",
        "error": "varchar",
        "detail": "text",
    },
    "rollups": {
        "monitor_id": "varchar",
        "location": "varchar",
        "hour": "timestamptz",
        "checks": "int4",
        "down": "int4",
        "degraded": "int4",
        "latency_sum": "float8",
        "sketch": "bytea",
        "unanswered": "int4",
        "assertion_failed": "int4",
    },
}


def instant(dialect: str) -> Callable[[datetime], Any]:
    """How an aware datetime is bound on ``dialect``, as ``schema.Instant`` binds it."""
    if dialect == "postgresql":
        return lambda at: at
    return lambda at: (at - _EPOCH) // _MICROSECOND


def _marks(dialect: str, n: int) -> list[str]:
    return [f"${i}" for i in range(1, n + 1)] if dialect == "postgresql" else ["?"] * n


@lru_cache(maxsize=64)
def _sqlite_values(table: str, columns: tuple[str, ...], rows: int, tail: str) -> str:
    one = "(" + ",".join("?" * len(columns)) + ")"
    values = ",".join([one] * rows)
    return f"INSERT INTO {table} ({','.join(columns)}) VALUES {values} {tail}"  # noqa: S608


@lru_cache(maxsize=16)
def _pg_unnest(table: str, columns: tuple[str, ...], tail: str) -> str:
    types = _PG_TYPES[table]
    arrays = ",".join(f"${i}::{types[c]}[]" for i, c in enumerate(columns, 1))
    return f"INSERT INTO {table} ({','.join(columns)}) SELECT * FROM unnest({arrays}) {tail}"  # noqa: S608


@lru_cache(maxsize=16)
def _pg_unnest_counted(table: str, columns: tuple[str, ...], tail: str) -> str:
    n = len(columns) + 1
    return (
        f"WITH ins AS ({_pg_unnest(table, columns, tail)}) "  # noqa: S608
        f"SELECT count(*), CASE WHEN count(*) < ${n}::int4 THEN array_agg({columns[0]}) END "
        "FROM ins"
    )


async def insert_new(
    conn: AsyncConnection,
    dialect: str,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> set[Any] | None:
    """Insert ``rows`` but those whose key (first column) is stored; return keys inserted.

    None when every row was inserted (the usual case: no key set to build).
    """
    tail = "ON CONFLICT DO NOTHING RETURNING " + columns[0]
    inserted: set[Any] = set()
    if dialect == "postgresql":
        # One statement for the batch: its columns as arrays. One row comes back, the
        # count inserted and, only when some were not, their keys as one array (a row
        # per key cost the engine more than the rest of the statement).
        arrays = tuple(list(col) for col in zip(*rows, strict=True))
        sql = _pg_unnest_counted(table, columns, tail)
        row = (await conn.exec_driver_sql(sql, (*arrays, len(rows)))).one()
        count, keys = cast("tuple[int, list[Any] | None]", tuple(row))
        if count == len(rows):
            return None
        return set(keys or ())
    # Multi-row VALUES: executemany cannot return the inserted keys. In chunks of
    # power-of-two sizes: SQLite compiles each distinct statement text (a few ms for
    # hundreds of rows), and sqlite3's statement cache keeps only the recent ones, so a
    # statement per batch size compiled anew for almost every batch.
    i, n = 0, len(rows)
    for size in _chunk_sizes(n, _SQLITE_PARAMS // len(columns)):
        part = rows[i : i + size]
        i += size
        sql = _sqlite_values(table, columns, size, tail)
        inserted.update(
            r[0] for r in await conn.exec_driver_sql(sql, tuple(v for row in part for v in row))
        )
    return None if len(inserted) == len(rows) else inserted


def _chunk_sizes(n: int, most: int) -> list[int]:
    """``n`` as a sum of powers of two no larger than ``most``, largest first."""
    top = 1 << (max(most, 1).bit_length() - 1)
    sizes = [top] * (n // top)
    rest = n % top
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes


async def upsert_rows(
    conn: AsyncConnection,
    dialect: str,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    keys: tuple[str, ...],
) -> None:
    """Insert ``rows``, overwriting the non-key columns of those already stored."""
    sets = ",".join(f"{c}=excluded.{c}" for c in columns if c not in keys)
    tail = f"ON CONFLICT ({','.join(keys)}) DO UPDATE SET {sets}"
    if dialect == "postgresql" and table in _PG_TYPES:
        # One statement, its columns as arrays: half the server's CPU of executemany
        # (a statement per row) for a little more of ours; on a shared box the
        # database's CPU is the scarcer (bench/ingest.py).
        arrays = tuple(list(col) for col in zip(*rows, strict=True))
        await conn.exec_driver_sql(_pg_unnest(table, columns, tail), arrays)
        return
    marks = ",".join(_marks(dialect, len(columns)))
    sql = f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks}) {tail}"  # noqa: S608
    await conn.exec_driver_sql(sql, list(rows))


async def execute_many(
    conn: AsyncConnection, dialect: str, sql: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Run ``sql`` once per row; ``sql`` marks its parameters ``{}`` in order."""
    await conn.exec_driver_sql(sql.format(*_marks(dialect, sql.count("{}"))), list(rows))
