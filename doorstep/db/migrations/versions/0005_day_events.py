"""Re-planning during the day: the events that changed a region-day, and planning jobs that
re-plan from where the agents are (`kind`, `as_of`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 03:29:50
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "day_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("visit_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.id"],
            name=op.f("fk_day_events_region_id_regions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_events")),
    )
    op.create_index("ix_day_events_region_id_day", "day_events", ["region_id", "day"])
    with op.batch_alter_table("planning_jobs") as batch_op:
        # Existing jobs all planned the whole day.
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="plan")
        )
        batch_op.add_column(sa.Column("as_of", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planning_jobs") as batch_op:
        batch_op.drop_column("as_of")
        batch_op.drop_column("kind")
    op.drop_index("ix_day_events_region_id_day", table_name="day_events")
    op.drop_table("day_events")
