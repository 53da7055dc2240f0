"""The tables, as SQLAlchemy Core metadata; Alembic migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKey,
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


def as_instant(value: object) -> datetime:
    """An Instant column's value read without the type's conversion (a bare MAX())."""
    if type(value) is int:  # SQLite's microseconds: the common case first
        return _EPOCH + timedelta(microseconds=value)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return _EPOCH + timedelta(microseconds=int(str(value)))


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
    Index("ix_intervals_end", "end_at", "start_at"),  # migration 0007
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
    # Quality: checks that got no answer, and answered checks whose assertions failed.
    Column("unanswered", Integer, nullable=False, server_default="0"),
    Column("assertion_failed", Integer, nullable=False, server_default="0"),
)

# Each location's confirmation, for the engine to resume from (migration 0012).
location_states = Table(
    "location_states",
    metadata,
    Column("monitor_id", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("confirmed", String(12), nullable=False),
    Column("since", Instant(), nullable=True),
    Column("run_state", String(12), nullable=True),
    Column("run_length", Integer, nullable=False),
    Column("run_start", Instant(), nullable=True),
    Column("last_at", Instant(), nullable=True),
    Column("silenced", Boolean, nullable=False),
)

# Which engine holds each shard ("shard/<n>") and the leader role ("leader"); see
# slamon.cluster.leases.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(64), nullable=True),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", Instant(), nullable=True),
    Column("acquired_at", Instant(), nullable=True),
    Column("released_by", String(64), nullable=True),
    Column("released_why", String(32), nullable=True),
)

cluster_members = Table(
    "cluster_members",
    metadata,
    Column("engine_id", String(64), primary_key=True),
    Column("seen_at", Instant(), nullable=False),
    Column("shards_wanted", Integer, nullable=False),
)

# Finalized reports are written once and never updated: a later run compares with them.
finalized_reports = Table(
    "finalized_reports",
    metadata,
    Column("contract_id", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("finalized_at", Instant(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
)

# Hourly rollups of whole UTC days whose raw results have aged out, packed one row per
# monitor, location and day (see slamon.store.packing): 24 rows cost more than 2 KB.
rollup_days = Table(
    "rollup_days",
    metadata,
    Column("monitor_id", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("day", Instant(), primary_key=True),
    Column("hours", LargeBinary, nullable=False),
)

# -- incidents and maintenance (migration 0005) -----------------------------------

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("title", Text, nullable=False),
    Column("impact", String(12), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened", Instant(), nullable=False),
    Column("acknowledged", Instant(), nullable=True),
    Column("acknowledged_by", String(128), nullable=False, default=""),
    Column("resolved", Instant(), nullable=True),
    Column("automatic", Boolean, nullable=False),
    Column("excluded_kind", String(24), nullable=True),
    Column("exclusion_reason", Text, nullable=False, default=""),
    Column("excluded_by", String(128), nullable=False, default=""),
    Column("excluded_at", Instant(), nullable=True),
    Index("ix_incidents_opened", "opened"),
    Index("ix_incidents_resolved", "resolved"),
)

incident_components = Table(
    "incident_components",
    metadata,
    Column(
        "incident_id",
        String(40),
        ForeignKey("incidents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("component_id", String(64), primary_key=True),
    Index("ix_incident_components_component", "component_id"),
)

incident_updates = Table(
    "incident_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "incident_id",
        String(40),
        ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", Instant(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("author", String(128), nullable=False),
    Index("ix_incident_updates_incident_at", "incident_id", "at"),
)

# One-off windows have start and end; recurring ones a cron line, a duration and a
# zone, with start (and end, when set) bounding when occurrences may begin.
maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("start_at", Instant(), nullable=False),
    Column("end_at", Instant(), nullable=True),
    Column("cron", String(120), nullable=True),
    Column("duration_seconds", Integer, nullable=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("created_by", String(128), nullable=False, default=""),
    Column("created_at", Instant(), nullable=False),
    Index("ix_maintenance_start", "start_at"),
    Index("ix_maintenance_end", "end_at"),
)

maintenance_components = Table(
    "maintenance_components",
    metadata,
    Column(
        "maintenance_id",
        String(64),
        ForeignKey("maintenance_windows.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("component_id", String(64), primary_key=True),
)

# -- status page subscribers (migration 0010_subscribers) ------------------------
# Only confirmed subscribers are stored, with what delivery needs and nothing else: an
# email subscriber's address, a webhook subscriber's URL (its confirming address is
# not kept), the components chosen (space-separated ids, empty for all), and when it
# was confirmed. The id is derived from the address with the subscriptions secret.
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("email", String(320), nullable=True),
    Column("webhook_url", Text, nullable=True),
    Column("components", Text, nullable=False, default=""),
    Column("confirmed_at", Instant(), nullable=False),
)

# What was told to subscribers: one row per event (an incident opened, updated or
# resolved; a maintenance scheduled, started or completed), claimed before it is sent,
# so that each is told once, across restarts and engines.
announcements = Table(
    "announcements",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("told_at", Instant(), nullable=False),
    Index("ix_announcements_told", "told_at"),
)

# Added by migration 0008 (rollups by window across all monitors; tests/test_explain.py).
Index("ix_rollups_hour", rollups.c.hour)

# -- alerts that survive a restart, and what was told about them (migration 0011) ----
#
# ``active_alerts``: every alert firing now, so that a restart neither fires it again
# nor forgets to resolve it. ``notification_outbox``: one row per notifier and message,
# written before the message is offered for sending and marked once it was delivered;
# what a stop left unsent goes out at the next start. Its key is the message's stable
# idempotency key (``alert:<fingerprint>:<status>:<startsAt>``), the same in every
# engine that computes it, so several engines (one leader, issue 17) insert each
# message once (INSERT ... ON CONFLICT DO NOTHING) and a leader can claim rows by key.

active_alerts = Table(
    "active_alerts",
    metadata,
    Column("fingerprint", String(32), primary_key=True),
    Column("alertname", String(64), nullable=False),
    Column("labels", Text, nullable=False),  # JSON object
    Column("annotations", Text, nullable=False),  # JSON object
    Column("starts_at", Instant(), nullable=False),
    Column("updated_at", Instant(), nullable=False),
)

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("notifier_id", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),  # "alert" (incidents may follow)
    Column("body", Text, nullable=False),  # the message as JSON
    Column("created_at", Instant(), nullable=False),
    Column("sent_at", Instant(), nullable=True),
    Column("given_up_at", Instant(), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    Index("ix_outbox_unsent", "sent_at", "given_up_at", "created_at"),
)
