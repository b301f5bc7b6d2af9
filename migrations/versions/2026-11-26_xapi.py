"""xapi: stored statements, unmapped activities, LRS pull checkpoints, SCORM attempts

Revision ID: f7b8c9d0e1a2
Revises: e6a7b8c9d0f1
Create Date: 2026-11-26 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text  # noqa: F401 - JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

import app.core.db

revision: str = "f7b8c9d0e1a2"
down_revision: str | None = "e6a7b8c9d0f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_statement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("verb_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("actor_ifi", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("object_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "object_activity_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
        ),
        sa.Column("object_agent_ifi", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("object_statement_id", sa.Uuid(), nullable=True),
        sa.Column("related_activities", sa.Text(), nullable=False),
        sa.Column("related_agents", sa.Text(), nullable=False),
        sa.Column("registration", sa.Uuid(), nullable=True),
        sa.Column("timestamp_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stored_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=False),
        sa.Column(
            "authority_client_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_xapi_statement_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xapi_statement")),
    )
    with op.batch_alter_table("xapi_statement", schema=None) as batch_op:
        batch_op.create_index("ix_xapi_statement_stored", ["stored_at", "id"], unique=False)
        batch_op.create_index(
            "ix_xapi_statement_pending", ["resolution", "actor_ifi"], unique=False
        )
        for column in (
            "verb_id",
            "actor_ifi",
            "object_activity_id",
            "object_statement_id",
            "registration",
            "person_id",
        ):
            batch_op.create_index(batch_op.f(f"ix_xapi_statement_{column}"), [column], unique=False)

    op.create_table(
        "xapi_unmapped_activity",
        sa.Column("activity_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("statement_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_xapi_unmapped_activity")),
    )
    op.create_table(
        "lrs_sync_checkpoint",
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("since", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_statement_id", sa.Uuid(), nullable=True),
        sa.Column("statements_applied", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", name=op.f("pk_lrs_sync_checkpoint")),
    )
    op.create_table(
        "scorm_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lms_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("attempt_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("course_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=True),
        sa.Column("score_scaled", sa.Float(), nullable=True),
        sa.Column("received_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_scorm_attempt_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorm_attempt")),
        sa.UniqueConstraint(
            "lms_id", "attempt_id", name=op.f("uq_scorm_attempt_lms_id_attempt_id")
        ),
    )
    with op.batch_alter_table("scorm_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scorm_attempt_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scorm_attempt_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scorm_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scorm_attempt_person_id"))
        batch_op.drop_index(batch_op.f("ix_scorm_attempt_course_id"))
    op.drop_table("scorm_attempt")
    op.drop_table("lrs_sync_checkpoint")
    op.drop_table("xapi_unmapped_activity")
    with op.batch_alter_table("xapi_statement", schema=None) as batch_op:
        for column in (
            "person_id",
            "registration",
            "object_statement_id",
            "object_activity_id",
            "actor_ifi",
            "verb_id",
        ):
            batch_op.drop_index(batch_op.f(f"ix_xapi_statement_{column}"))
        batch_op.drop_index("ix_xapi_statement_pending")
        batch_op.drop_index("ix_xapi_statement_stored")
    op.drop_table("xapi_statement")
