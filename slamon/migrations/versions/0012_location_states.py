"""Where each location of each monitor stands in confirming its state, kept across restarts.

One row per monitor and location: the state it confirmed and since when, the run of
checks under way, its last check, and whether it was declared silent. The engine
writes it every few seconds and at a stop, and resumes from it at start (with the
results stored after it), so that a restart neither forgets a confirmation nor opens
an unknown gap where results cover the time.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "location_states",
        sa.Column("monitor_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("confirmed", sa.String(12), nullable=False),
        sa.Column("since", Instant(), nullable=True),
        sa.Column("run_state", sa.String(12), nullable=True),
        sa.Column("run_length", sa.Integer, nullable=False),
        sa.Column("run_start", Instant(), nullable=True),
        sa.Column("last_at", Instant(), nullable=True),
        sa.Column("silenced", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("location_states")
