"""message_media: a pending attachment's download attempts and when the next may start

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_media") as batch_op:
        # server_default fills the rows that exist: none of them has been retried yet
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_message_media_next_attempt_at", ["next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("message_media") as batch_op:
        batch_op.drop_index("ix_message_media_next_attempt_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
