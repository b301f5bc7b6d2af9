"""hris sources: a pull schedule run by the worker, and how the last pull ended

Revision ID: b7c8d9e0f1a2
Revises: a6b7c8d9e0f1
Create Date: 2026-11-27 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.core.db

revision: str = "b7c8d9e0f1a2"
down_revision: str | None = "a6b7c8d9e0f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hris_source") as batch:
        batch.add_column(sa.Column("pull_every_minutes", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("next_pull_at", app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("last_pull_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "last_pull_report",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("hris_source") as batch:
        batch.drop_column("last_pull_report")
        batch.drop_column("last_pull_error")
        batch.drop_column("next_pull_at")
        batch.drop_column("pull_every_minutes")
