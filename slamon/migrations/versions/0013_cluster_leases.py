"""Leases by which engines hold shards and the leader role, and the engines seen alive.

``leases``: one row per thing held (``shard/<n>``, ``leader``): its owner (NULL when
free), an epoch that grows with each new owner (writes of a shard are fenced by it),
and when it expires by the database's clock. ``cluster_members``: each engine's
heartbeat, from which the others count who is alive to spread the shards evenly.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("expires_at", Instant(), nullable=True),
        sa.Column("acquired_at", Instant(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_why", sa.String(32), nullable=True),
    )
    op.create_table(
        "cluster_members",
        sa.Column("engine_id", sa.String(64), primary_key=True),
        sa.Column("seen_at", Instant(), nullable=False),
        sa.Column("shards_wanted", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cluster_members")
    op.drop_table("leases")
