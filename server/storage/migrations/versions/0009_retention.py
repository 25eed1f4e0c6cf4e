"""company_settings: how long messages and attachment files are kept (0 = forever)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("company_settings") as batch_op:
        # server_default fills the rows that exist: every company keeps everything until an admin says not
        batch_op.add_column(
            sa.Column("message_retention_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("media_retention_days", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("company_settings") as batch_op:
        batch_op.drop_column("media_retention_days")
        batch_op.drop_column("message_retention_days")
