"""Raw results, state intervals and hourly rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "results",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("monitor_id", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("at", Instant(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("latency", sa.Float, nullable=False),
        sa.Column("error", sa.String(24), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_results_monitor_at", "results", ["monitor_id", "at"])
    op.create_index("ix_results_at", "results", ["at"])
    op.create_table(
        "state_intervals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("start_at", Instant(), nullable=False),
        sa.Column("end_at", Instant(), nullable=True),
    )
    op.create_index("ix_intervals_monitor_start", "state_intervals", ["monitor_id", "start_at"])
    op.create_index("ix_intervals_open", "state_intervals", ["monitor_id", "end_at"])
    op.create_table(
        "rollups",
        sa.Column("monitor_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("hour", Instant(), primary_key=True),
        sa.Column("checks", sa.Integer, nullable=False),
        sa.Column("down", sa.Integer, nullable=False),
        sa.Column("degraded", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("sketch", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rollups")
    op.drop_table("state_intervals")
    op.drop_table("results")
