"""Outbox rows that send a Cloud API template

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("template_name", sa.String(length=512), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("template_language", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("template_parameters", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "cloud_template_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("template_key", sa.String(length=600), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "template_key"),
    )
    with op.batch_alter_table("cloud_template_mapping") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cloud_template_mapping_company_id"), ["company_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cloud_template_mapping") as batch_op:
        batch_op.drop_index(batch_op.f("ix_cloud_template_mapping_company_id"))
    op.drop_table("cloud_template_mapping")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("template_parameters")
        batch_op.drop_column("template_language")
        batch_op.drop_column("template_name")
