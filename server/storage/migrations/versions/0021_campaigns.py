"""Campaigns, their recipients and opt-outs

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_ids", sa.Text(), nullable=False),
        sa.Column("filter_id", sa.Integer(), nullable=True),
        sa.Column("filter_name", sa.String(length=255), nullable=False),
        sa.Column("compose", sa.Text(), nullable=False),
        sa.Column("pacing", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tick_seq", sa.Integer(), nullable=False),
        sa.Column("tick_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_tick_at"), ["tick_at"], unique=False)
    op.create_table(
        "campaign_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("field_values", sa.Text(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("skip_reason", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "position"),
    )
    with op.batch_alter_table("campaign_recipient") as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_recipient_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_recipient_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_recipient_e164"), ["e164"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_recipient_outbox_id"), ["outbox_id"], unique=False)
        batch_op.create_index(
            "ix_campaign_recipient_account_queued", ["account_id", "queued_at"], unique=False
        )
        batch_op.create_index(
            "ix_campaign_recipient_campaign_status", ["campaign_id", "status"], unique=False
        )
    op.create_table(
        "campaign_sender",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("campaign_id", "account_id"),
    )
    op.create_table(
        "opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "e164"),
    )
    with op.batch_alter_table("opt_out") as batch_op:
        batch_op.create_index(batch_op.f("ix_opt_out_company_id"), ["company_id"], unique=False)
    op.create_table(
        "campaign_settings",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("stop_words", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("company_id"),
    )


def downgrade() -> None:
    op.drop_table("campaign_settings")
    with op.batch_alter_table("opt_out") as batch_op:
        batch_op.drop_index(batch_op.f("ix_opt_out_company_id"))
    op.drop_table("opt_out")
    op.drop_table("campaign_sender")
    with op.batch_alter_table("campaign_recipient") as batch_op:
        batch_op.drop_index("ix_campaign_recipient_campaign_status")
        batch_op.drop_index("ix_campaign_recipient_account_queued")
        batch_op.drop_index(batch_op.f("ix_campaign_recipient_outbox_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_recipient_e164"))
        batch_op.drop_index(batch_op.f("ix_campaign_recipient_company_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_recipient_campaign_id"))
    op.drop_table("campaign_recipient")
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_tick_at"))
        batch_op.drop_index(batch_op.f("ix_campaign_status"))
        batch_op.drop_index(batch_op.f("ix_campaign_company_id"))
    op.drop_table("campaign")
