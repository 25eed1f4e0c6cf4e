"""installation.session_epoch (counts the user's uninstalls, which end their chat-view sessions) and
oauth_state_use (OAuth states already used, so none is used twice)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("installation") as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "oauth_state_use",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("oauth_state_use") as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_state_use_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_state_use") as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_state_use_expires_at"))
    op.drop_table("oauth_state_use")
    with op.batch_alter_table("installation") as batch_op:
        batch_op.drop_column("session_epoch")
