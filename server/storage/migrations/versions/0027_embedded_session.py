"""embedded_session: the QR code, pairing code, logout request and encrypted device store of each embedded
WhatsApp session

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "embedded_session",
        sa.Column("session_name", sa.String(length=128), primary_key=True),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("qr_encrypted", sa.Text(), nullable=False),
        sa.Column("qr_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pairing_phone", sa.String(length=32), nullable=False),
        sa.Column("pairing_code_encrypted", sa.Text(), nullable=False),
        sa.Column("pairing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("logout_requested", sa.Boolean(), nullable=False),
        sa.Column("device_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("device_token", sa.Integer(), nullable=False),
        sa.Column("device_saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["whatsapp_account.id"]),
    )
    op.create_index("ix_embedded_session_company_id", "embedded_session", ["company_id"])
    op.create_index("ix_embedded_session_account_id", "embedded_session", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_embedded_session_account_id", table_name="embedded_session")
    op.drop_index("ix_embedded_session_company_id", table_name="embedded_session")
    op.drop_table("embedded_session")
