"""Status page subscribers (confirmed only) and the events told to them.

Revision ID: 0010_subscribers
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0010_subscribers"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("components", sa.Text, nullable=False),
        sa.Column("confirmed_at", Instant(), nullable=False),
    )
    op.create_table(
        "announcements",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("told_at", Instant(), nullable=False),
    )
    op.create_index("ix_announcements_told", "announcements", ["told_at"])


def downgrade() -> None:
    op.drop_index("ix_announcements_told", "announcements")
    op.drop_table("announcements")
    op.drop_table("subscribers")
