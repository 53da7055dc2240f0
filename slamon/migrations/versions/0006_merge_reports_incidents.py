"""Join the two branches that started from 0001: reports (0004) and incidents (0005).

Revision ID: 0006
Revises: 0004, 0005
Create Date: 2026-11-27
"""

revision = "0006"
down_revision = ("0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
