"""An index for reading every monitor's rollups by time window.

EXPLAIN on benchmark-sized data (tests/test_explain.py): rollups by window across all
monitors were a sequential scan on PostgreSQL; the primary key leads with monitor_id.
(Intervals by window across all monitors, also a sequential scan, are served by
ix_intervals_end from revision 0007.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rollups_hour", "rollups", ["hour"])


def downgrade() -> None:
    op.drop_index("ix_rollups_hour", table_name="rollups")
