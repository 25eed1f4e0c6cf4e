"""installations and company settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_settings",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("import_frequency", sa.String(length=16), nullable=False),
        sa.Column("auto_add_persons", sa.Boolean(), nullable=False),
        sa.Column("new_chat_action", sa.String(length=16), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=True),
        sa.Column("import_groups", sa.Boolean(), nullable=False),
        sa.Column("excluded_numbers", sa.Text(), nullable=False),
        sa.Column("activity_type_key", sa.String(length=100), nullable=False),
        sa.Column("person_link_field_key", sa.String(length=64), nullable=False),
        sa.Column("deal_link_field_key", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("pipedrive_user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scopes", sa.String(length=1000), nullable=False),
        sa.Column("api_domain", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "pipedrive_user_id"),
    )
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_installation_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_installation_pipedrive_user_id"), ["pipedrive_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installation_pipedrive_user_id"))
        batch_op.drop_index(batch_op.f("ix_installation_company_id"))

    op.drop_table("installation")
    op.drop_table("company_settings")
