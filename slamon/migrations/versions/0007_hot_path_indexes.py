"""Indexes for the hot queries that scanned whole tables on PostgreSQL.

EXPLAIN on benchmark-sized data (tests/test_explain.py): rollups by time window across
all monitors, and state intervals overlapping a window across all monitors, were
sequential scans.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rollups_hour", "rollups", ["hour"])
    op.create_index("ix_intervals_end", "state_intervals", ["end_at"])


def downgrade() -> None:
    op.drop_index("ix_intervals_end", "state_intervals")
    op.drop_index("ix_rollups_hour", "rollups")
