"""The tables, as SQLAlchemy Core metadata; Alembic migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Instant(TypeDecorator[datetime]):
    """A timezone-aware UTC instant.

    PostgreSQL stores ``timestamptz``; SQLite, which has no time type, stores integer
    microseconds since the epoch: exact, compact, and ordered like the instants.
    """

    impl = BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the column type per database."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Aware datetime in; reject naive ones loudly."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an Instant column")
        if dialect.name == "postgresql":
            return value
        return (value - _EPOCH) // timedelta(microseconds=1)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Aware UTC datetime out."""
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return _EPOCH + timedelta(microseconds=int(value))


metadata = MetaData()

results = Table(
    "results",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("monitor_id", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("at", Instant(), nullable=False),
    Column("state", String(12), nullable=False),
    Column("latency", Float, nullable=False),
    Column("error", String(24), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_results_monitor_at", "monitor_id", "at"),
    Index("ix_results_at", "at"),
)

state_intervals = Table(
    "state_intervals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor_id", String(64), nullable=False),
    Column("state", String(12), nullable=False),
    Column("start_at", Instant(), nullable=False),
    Column("end_at", Instant(), nullable=True),
    Index("ix_intervals_monitor_start", "monitor_id", "start_at"),
    Index("ix_intervals_open", "monitor_id", "end_at"),
)

rollups = Table(
    "rollups",
    metadata,
    Column("monitor_id", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("hour", Instant(), primary_key=True),
    Column("checks", Integer, nullable=False),
    Column("down", Integer, nullable=False),
    Column("degraded", Integer, nullable=False),
    Column("latency_sum", Float, nullable=False),
    Column("sketch", LargeBinary, nullable=False),
)

# Added by migration 0007 (hot queries across all monitors; see tests/test_explain.py).
Index("ix_rollups_hour", rollups.c.hour)
Index("ix_intervals_end", state_intervals.c.end_at)
