"""whatsapp_account.caught_up_until: catch-up starts from where the history was last known complete

A number linked before this starts from its newest stored message, as catch-up did until now.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("whatsapp_account") as batch_op:
        batch_op.add_column(sa.Column("caught_up_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE whatsapp_account SET caught_up_until = "
        "(SELECT max(message.sent_at) FROM message WHERE message.account_id = whatsapp_account.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_account") as batch_op:
        batch_op.drop_column("caught_up_until")
