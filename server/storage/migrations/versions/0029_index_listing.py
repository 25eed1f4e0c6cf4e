"""sync_company_state: when the phone index was last listed in full, and which worker holds its listing

A cold worker lists every Person only while the company's index was never listed in full, and only under
this lease: the others wait for it and read the stored index. Indexes built before this take the time of
their last change as their listing's.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_company_state") as batch_op:
        batch_op.add_column(sa.Column("index_listed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("index_lease_owner", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("index_lease_until", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sync_company_state SET index_listed_at = updated_at WHERE index_built")


def downgrade() -> None:
    with op.batch_alter_table("sync_company_state") as batch_op:
        batch_op.drop_column("index_lease_until")
        batch_op.drop_column("index_lease_owner")
        batch_op.drop_column("index_listed_at")
