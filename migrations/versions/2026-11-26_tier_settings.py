"""tier settings: due period, renewal basis, refresher path; due period per role assignment

Revision ID: d3e4f5a6b7c8
Revises: c2d3e4f5a6b7
Create Date: 2026-11-26 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "d3e4f5a6b7c8"
down_revision: str | None = "c2d3e4f5a6b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("diploma_tier") as batch:
        batch.add_column(sa.Column("due_days", sa.Integer(), nullable=True))
        # Existing tiers keep today's behaviour: renewals count from the previous expiry.
        batch.add_column(
            sa.Column(
                "renewal_basis",
                sqlmodel.sql.sqltypes.AutoString(length=30),
                nullable=False,
                server_default="previous_expiry",
            )
        )
        batch.add_column(
            sa.Column(
                "renewal_fixed_date", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True
            )
        )
    with op.batch_alter_table("diploma_tier") as batch:
        batch.alter_column("renewal_basis", server_default=None)
    with op.batch_alter_table("role_tier_assignment") as batch:
        batch.add_column(sa.Column("due_days", sa.Integer(), nullable=True))
    # Every existing requirement is on the full path; refresher requirements are new.
    with op.batch_alter_table("tier_requirement") as batch:
        batch.add_column(
            sa.Column(
                "path",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="full",
            )
        )
        batch.drop_constraint(
            "uq_tier_requirement_version_id_tier_key_competency_key", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_tier_requirement_version_id_tier_key_path_competency_key",
            ["version_id", "tier_key", "path", "competency_key"],
        )
    with op.batch_alter_table("tier_requirement") as batch:
        batch.alter_column("path", server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM tier_requirement WHERE path <> 'full'")
    with op.batch_alter_table("tier_requirement") as batch:
        batch.drop_constraint(
            "uq_tier_requirement_version_id_tier_key_path_competency_key", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_tier_requirement_version_id_tier_key_competency_key",
            ["version_id", "tier_key", "competency_key"],
        )
        batch.drop_column("path")
    with op.batch_alter_table("role_tier_assignment") as batch:
        batch.drop_column("due_days")
    with op.batch_alter_table("diploma_tier") as batch:
        batch.drop_column("renewal_fixed_date")
        batch.drop_column("renewal_basis")
        batch.drop_column("due_days")
