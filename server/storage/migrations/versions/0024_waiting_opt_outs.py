"""Opt-outs waiting for their number: a stop word from a chat known only by its LID

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waiting_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("lid", sa.String(length=64), nullable=False),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_ask_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "lid"),
    )
    with op.batch_alter_table("waiting_opt_out") as batch_op:
        batch_op.create_index(batch_op.f("ix_waiting_opt_out_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waiting_opt_out_next_ask_at"), ["next_ask_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waiting_opt_out") as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiting_opt_out_next_ask_at"))
        batch_op.drop_index(batch_op.f("ix_waiting_opt_out_company_id"))
    op.drop_table("waiting_opt_out")
