"""media_deletion: attachment files to delete, kept until they are gone

A transaction that deletes the last rows naming a stored file lists the file here; the file is deleted
after the commit and its entry with it. A deletion that failed, or never ran because the process stopped
after the commit, is tried again from this list.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-17
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_deletion",
        sa.Column("path", sa.String(length=500), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reason", sa.String(length=64), nullable=False, server_default=""),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_media_deletion_next_attempt_at", "media_deletion", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_media_deletion_next_attempt_at", table_name="media_deletion")
    op.drop_table("media_deletion")
