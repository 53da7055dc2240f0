"""Finalized reports, packed rollup days, and an index for reading intervals by time.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reports read every monitor's intervals that overlap a month: without an index on
    # end_at, SQLite scans the whole table through (monitor_id, start_at).
    op.create_index("ix_intervals_end", "state_intervals", ["end_at", "start_at"])
    op.create_table(
        "finalized_reports",
        sa.Column("contract_id", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("finalized_at", Instant(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_table(
        "rollup_days",
        sa.Column("monitor_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("day", Instant(), primary_key=True),
        sa.Column("hours", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_intervals_end", table_name="state_intervals")
    op.drop_table("rollup_days")
    op.drop_table("finalized_reports")
