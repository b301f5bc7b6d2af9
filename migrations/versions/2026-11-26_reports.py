"""reports: coverage snapshots, report schedules and editions

Revision ID: c2d3e4f5a6b7
Revises: b1c2d3e4f5a6
Create Date: 2026-11-26 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

import app.core.db

revision: str = "c2d3e4f5a6b7"
down_revision: str | None = "b1c2d3e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coverage_snapshot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("snapshot_date", sa.Date(), nullable=False),
        sa.Column("taken_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("in_scope", sa.Integer(), nullable=False),
        sa.Column("certified", sa.Integer(), nullable=False),
        sa.Column("compliant", sa.Integer(), nullable=False),
        sa.Column("expiring_30", sa.Integer(), nullable=False),
        sa.Column("expiring_90", sa.Integer(), nullable=False),
        sa.Column("expired", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column(
            "groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_snapshot")),
        sa.UniqueConstraint("snapshot_date", name=op.f("uq_coverage_snapshot_snapshot_date")),
    )
    op.create_table(
        "report_schedule",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("audience", sa.String(length=30), nullable=False),
        sa.Column("report", sa.String(length=30), nullable=False),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("cadence", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_due_date", sa.Date(), nullable=False),
        sa.Column("last_published_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedule")),
        sa.UniqueConstraint("name", name=op.f("uq_report_schedule_name")),
    )
    with op.batch_alter_table("report_schedule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_schedule_next_due_date"), ["next_due_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_schedule_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "report_edition",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("report", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("as_of_date", sa.Date(), nullable=False),
        sa.Column("published_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["report_schedule.id"],
            name=op.f("fk_report_edition_schedule_id_report_schedule"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_edition")),
        sa.UniqueConstraint(
            "schedule_id", "as_of_date", name=op.f("uq_report_edition_schedule_id_as_of_date")
        ),
    )
    with op.batch_alter_table("report_edition", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_edition_as_of_date"), ["as_of_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_edition_schedule_id"), ["schedule_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("report_edition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_edition_schedule_id"))
        batch_op.drop_index(batch_op.f("ix_report_edition_as_of_date"))

    op.drop_table("report_edition")
    with op.batch_alter_table("report_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_schedule_updated_at"))
        batch_op.drop_index(batch_op.f("ix_report_schedule_next_due_date"))

    op.drop_table("report_schedule")
    op.drop_table("coverage_snapshot")
