"""sync_day_activity.waiting_since: when the oldest live message a day's transcript has not carried yet
arrived, so a write can say how long the message waited (the sync's lag, in the metrics)

Days dirty before this have no such time: their next write is not counted.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-14
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_day_activity") as batch_op:
        batch_op.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_day_activity") as batch_op:
        batch_op.drop_column("waiting_since")
