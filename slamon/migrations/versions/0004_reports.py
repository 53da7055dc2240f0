"""Finalized reports (one immutable row per contract and period) and packed rollup days.

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
    op.drop_table("rollup_days")
    op.drop_table("finalized_reports")
