"""person.hr_source: which HR source keeps a person (what its complete listing may deactivate)

Revision ID: f5a6b7c8d9e0
Revises: e4f5a6b7c8d9
Create Date: 2026-11-27 02:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f5a6b7c8d9e0"
down_revision: str | None = "e4f5a6b7c8d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(
            sa.Column("hr_source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
    # Before this column a complete listing deactivated everyone it did not list. Where one
    # HR source pulls, keep that: it keeps everyone until its listings say otherwise.
    # With several, nobody is claimed until a source lists them.
    op.execute(
        "UPDATE person SET hr_source = (SELECT name FROM hris_source WHERE pull_url IS NOT NULL) "
        "WHERE (SELECT count(*) FROM hris_source WHERE pull_url IS NOT NULL) = 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_column("hr_source")
