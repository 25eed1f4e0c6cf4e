"""Edited and deleted messages: message.edited_at, revoked_at and edit_history, the message_change queue
of days to rewrite, and company_settings.keep_deleted_text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        # server_default fills the rows that exist: none of them was edited
        batch_op.add_column(sa.Column("edit_history", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("company_settings") as batch_op:
        batch_op.add_column(
            sa.Column("keep_deleted_text", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "message_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_change") as batch_op:
        batch_op.create_index(batch_op.f("ix_message_change_chat_id"), ["chat_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_change") as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_change_chat_id"))
    op.drop_table("message_change")
    with op.batch_alter_table("company_settings") as batch_op:
        batch_op.drop_column("keep_deleted_text")
    with op.batch_alter_table("message") as batch_op:
        batch_op.drop_column("edit_history")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("edited_at")
