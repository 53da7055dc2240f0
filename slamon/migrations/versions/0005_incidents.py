"""Incidents with their components and timeline, and stored maintenance windows.

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from slamon.store.schema import Instant

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("impact", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened", Instant(), nullable=False),
        sa.Column("acknowledged", Instant(), nullable=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=False),
        sa.Column("resolved", Instant(), nullable=True),
        sa.Column("automatic", sa.Boolean, nullable=False),
        sa.Column("excluded_kind", sa.String(24), nullable=True),
        sa.Column("exclusion_reason", sa.Text, nullable=False),
        sa.Column("excluded_by", sa.String(128), nullable=False),
        sa.Column("excluded_at", Instant(), nullable=True),
    )
    op.create_index("ix_incidents_opened", "incidents", ["opened"])
    op.create_index("ix_incidents_resolved", "incidents", ["resolved"])
    op.create_table(
        "incident_components",
        sa.Column(
            "incident_id",
            sa.String(40),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("component_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_incident_components_component", "incident_components", ["component_id"])
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.String(40),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", Instant(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
    )
    op.create_index("ix_incident_updates_incident_at", "incident_updates", ["incident_id", "at"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("start_at", Instant(), nullable=False),
        sa.Column("end_at", Instant(), nullable=True),
        sa.Column("cron", sa.String(120), nullable=True),
        sa.Column("duration_seconds", sa.Integer, nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", Instant(), nullable=False),
    )
    op.create_index("ix_maintenance_start", "maintenance_windows", ["start_at"])
    op.create_index("ix_maintenance_end", "maintenance_windows", ["end_at"])
    op.create_table(
        "maintenance_components",
        sa.Column(
            "maintenance_id",
            sa.String(64),
            sa.ForeignKey("maintenance_windows.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("component_id", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("maintenance_components")
    op.drop_table("maintenance_windows")
    op.drop_table("incident_updates")
    op.drop_table("incident_components")
    op.drop_table("incidents")
