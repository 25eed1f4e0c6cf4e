"""Changes waiting for their message (waiting_change) and Pipedrive files to delete (file_deletion)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waiting_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("target_from_me", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["whatsapp_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "message_key", "kind", "changed_at"),
    )
    with op.batch_alter_table("waiting_change") as batch_op:
        batch_op.create_index(batch_op.f("ix_waiting_change_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waiting_change_created_at"), ["created_at"], unique=False)
    op.create_table(
        "file_deletion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "file_id"),
    )
    with op.batch_alter_table("file_deletion") as batch_op:
        batch_op.create_index(batch_op.f("ix_file_deletion_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_file_deletion_chat_id"), ["chat_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("file_deletion") as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_deletion_chat_id"))
        batch_op.drop_index(batch_op.f("ix_file_deletion_company_id"))
    op.drop_table("file_deletion")
    with op.batch_alter_table("waiting_change") as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiting_change_created_at"))
        batch_op.drop_index(batch_op.f("ix_waiting_change_account_id"))
    op.drop_table("waiting_change")
