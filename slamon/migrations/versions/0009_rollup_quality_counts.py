"""Quality counts in hourly rollups: checks with no answer, answered checks whose assertions failed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollups") as batch:
        batch.add_column(sa.Column("unanswered", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("assertion_failed", sa.Integer, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("rollups") as batch:
        batch.drop_column("assertion_failed")
        batch.drop_column("unanswered")
