"""rollout: programmes, phases, phase scope and phase feedback

Revision ID: b1c2d3e4f5a6
Revises: f7b8c9d0e1a2
Create Date: 2026-11-26 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

import app.core.db

revision: str = "b1c2d3e4f5a6"
down_revision: str | None = "f7b8c9d0e1a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("model_version_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["competency_model_version.id"],
            name=op.f("fk_programme_model_version_id_competency_model_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint("name", name=op.f("uq_programme_name")),
    )
    op.create_index(
        op.f("ix_programme_model_version_id"), "programme", ["model_version_id"], unique=False
    )
    op.create_index(op.f("ix_programme_updated_at"), "programme", ["updated_at"], unique=False)
    op.create_table(
        "programme_phase",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "training_offer",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "assessment_windows",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_programme_phase_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_programme_phase_programme_id_programme"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_phase")),
        sa.UniqueConstraint(
            "programme_id", "name", name=op.f("uq_programme_phase_programme_id_name")
        ),
    )
    op.create_index(
        op.f("ix_programme_phase_programme_id"), "programme_phase", ["programme_id"], unique=False
    )
    op.create_index(
        op.f("ix_programme_phase_updated_at"), "programme_phase", ["updated_at"], unique=False
    )
    op.create_table(
        "phase_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phase_id", sa.Uuid(), nullable=False),
        sa.Column("respondent_group", sa.String(length=20), nullable=False),
        sa.Column("respondent_person_id", sa.Uuid(), nullable=True),
        sa.Column("workload", sa.Integer(), nullable=True),
        sa.Column("clarity", sa.Integer(), nullable=True),
        sa.Column("relevance", sa.Integer(), nullable=True),
        sa.Column("assessment_fairness", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "assessment_fairness IS NULL OR (assessment_fairness >= 1 AND assessment_fairness <= 5)",
            name=op.f("ck_phase_feedback_assessment_fairness_range"),
        ),
        sa.CheckConstraint(
            "clarity IS NULL OR (clarity >= 1 AND clarity <= 5)",
            name=op.f("ck_phase_feedback_clarity_range"),
        ),
        sa.CheckConstraint(
            "relevance IS NULL OR (relevance >= 1 AND relevance <= 5)",
            name=op.f("ck_phase_feedback_relevance_range"),
        ),
        sa.CheckConstraint(
            "workload IS NULL OR (workload >= 1 AND workload <= 5)",
            name=op.f("ck_phase_feedback_workload_range"),
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["programme_phase.id"],
            name=op.f("fk_phase_feedback_phase_id_programme_phase"),
        ),
        sa.ForeignKeyConstraint(
            ["respondent_person_id"],
            ["person.id"],
            name=op.f("fk_phase_feedback_respondent_person_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_feedback")),
        sa.UniqueConstraint(
            "phase_id",
            "respondent_person_id",
            name=op.f("uq_phase_feedback_phase_id_respondent_person_id"),
        ),
    )
    op.create_index(
        "ix_phase_feedback_phase_group",
        "phase_feedback",
        ["phase_id", "respondent_group"],
        unique=False,
    )
    op.create_table(
        "phase_scope",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phase_id", sa.Uuid(), nullable=False),
        sa.Column("org_unit_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("job_family_id", sa.Uuid(), nullable=True),
        sa.Column("role_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN org_unit_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN location_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN job_family_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN role_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_phase_scope_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["job_family_id"],
            ["job_family.id"],
            name=op.f("fk_phase_scope_job_family_id_job_family"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_phase_scope_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_unit.id"], name=op.f("fk_phase_scope_org_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["programme_phase.id"],
            name=op.f("fk_phase_scope_phase_id_programme_phase"),
        ),
        sa.ForeignKeyConstraint(["role_id"], ["role.id"], name=op.f("fk_phase_scope_role_id_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_scope")),
    )
    op.create_index(
        op.f("ix_phase_scope_job_family_id"), "phase_scope", ["job_family_id"], unique=False
    )
    op.create_index(
        op.f("ix_phase_scope_location_id"), "phase_scope", ["location_id"], unique=False
    )
    op.create_index(
        op.f("ix_phase_scope_org_unit_id"), "phase_scope", ["org_unit_id"], unique=False
    )
    op.create_index(op.f("ix_phase_scope_phase_id"), "phase_scope", ["phase_id"], unique=False)
    op.create_index(op.f("ix_phase_scope_role_id"), "phase_scope", ["role_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_phase_scope_role_id"), table_name="phase_scope")
    op.drop_index(op.f("ix_phase_scope_phase_id"), table_name="phase_scope")
    op.drop_index(op.f("ix_phase_scope_org_unit_id"), table_name="phase_scope")
    op.drop_index(op.f("ix_phase_scope_location_id"), table_name="phase_scope")
    op.drop_index(op.f("ix_phase_scope_job_family_id"), table_name="phase_scope")
    op.drop_table("phase_scope")
    op.drop_index("ix_phase_feedback_phase_group", table_name="phase_feedback")
    op.drop_table("phase_feedback")
    op.drop_index(op.f("ix_programme_phase_updated_at"), table_name="programme_phase")
    op.drop_index(op.f("ix_programme_phase_programme_id"), table_name="programme_phase")
    op.drop_table("programme_phase")
    op.drop_index(op.f("ix_programme_updated_at"), table_name="programme")
    op.drop_index(op.f("ix_programme_model_version_id"), table_name="programme")
    op.drop_table("programme")
