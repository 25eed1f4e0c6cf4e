"""Replies: message.reply_to_id, reply_to_message_id and quote_text

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        # server_default fills the rows that exist: stored before replies were, they answer nothing
        batch_op.add_column(
            sa.Column("reply_to_id", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("reply_to_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quote_text", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_message_reply_to_id"), ["reply_to_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_reply_to_id"))
        batch_op.drop_column("quote_text")
        batch_op.drop_column("reply_to_message_id")
        batch_op.drop_column("reply_to_id")
