"""Alerts that survive a restart: the active alerts, and the notification outbox.

Revision ID: 0011
Revises: 0010_subscribers
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0011"
down_revision = "0010_subscribers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "active_alerts",
        sa.Column("fingerprint", sa.String(32), primary_key=True),
        sa.Column("alertname", sa.String(64), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("annotations", sa.Text, nullable=False),
        sa.Column("starts_at", Instant(), nullable=False),
        sa.Column("updated_at", Instant(), nullable=False),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("notifier_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
        sa.Column("sent_at", Instant(), nullable=True),
        sa.Column("given_up_at", Instant(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    )
    op.create_index(
        "ix_outbox_unsent", "notification_outbox", ["sent_at", "given_up_at", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", "notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("active_alerts")
