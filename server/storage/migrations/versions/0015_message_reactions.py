"""Reactions: the message_reaction table, and message_change.day_at (a reaction's day)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_change") as batch_op:
        batch_op.add_column(sa.Column("day_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "message_reaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("reactor_key", sa.String(length=128), nullable=False),
        sa.Column("reactor_name", sa.String(length=255), nullable=False),
        sa.Column("from_me", sa.Boolean(), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("reacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "reactor_key"),
    )
    with op.batch_alter_table("message_reaction") as batch_op:
        batch_op.create_index(batch_op.f("ix_message_reaction_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_reaction_reacted_at"), ["reacted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_reaction") as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_reaction_reacted_at"))
        batch_op.drop_index(batch_op.f("ix_message_reaction_message_id"))
    op.drop_table("message_reaction")
    with op.batch_alter_table("message_change") as batch_op:
        batch_op.drop_column("day_at")
