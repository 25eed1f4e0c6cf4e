"""Reactions waiting for their message (waiting_reaction)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waiting_reaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("target_from_me", sa.Boolean(), nullable=True),
        sa.Column("reactor_key", sa.String(length=128), nullable=False),
        sa.Column("reactor_name", sa.String(length=255), nullable=False),
        sa.Column("from_me", sa.Boolean(), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("reacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["whatsapp_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "message_key", "reactor_key", "reacted_at"),
    )
    with op.batch_alter_table("waiting_reaction") as batch_op:
        batch_op.create_index(batch_op.f("ix_waiting_reaction_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waiting_reaction_message_key"), ["message_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_waiting_reaction_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waiting_reaction") as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiting_reaction_created_at"))
        batch_op.drop_index(batch_op.f("ix_waiting_reaction_message_key"))
        batch_op.drop_index(batch_op.f("ix_waiting_reaction_account_id"))
    op.drop_table("waiting_reaction")
