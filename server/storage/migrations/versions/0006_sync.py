"""sync engine: chat links, day activities, intents, problems, phone index, media

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("mime", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "message_media",
        sa.Column("message_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("message_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_media_sha256"), ["sha256"], unique=False)

    op.create_table(
        "sync_day_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("rendered_hash", sa.String(length=64), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("dirty_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "day", "part"),
    )
    with op.batch_alter_table("sync_day_activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_day_activity_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_day_activity_dirty"), ["dirty"], unique=False)

    op.create_table(
        "media_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "sha256", "target", "target_id"),
    )
    with op.batch_alter_table("media_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_upload_company_id"), ["company_id"], unique=False)

    op.create_table(
        "phone_index_entry",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.Column("link_value", sa.String(length=255), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "person_id"),
    )
    op.create_table(
        "sync_chat_link",
        sa.Column("chat_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("person_name", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("alternatives", sa.String(length=1000), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.String(length=64), nullable=True),
        sa.Column("deal_source", sa.String(length=16), nullable=False),
        sa.Column("pinned_deal_id", sa.Integer(), nullable=True),
        sa.Column("deal_checked", sa.Boolean(), nullable=False),
        sa.Column("person_link_url", sa.String(length=255), nullable=False),
        sa.Column("deal_link_url", sa.String(length=255), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("adopted_lid", sa.String(length=64), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    with op.batch_alter_table("sync_chat_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_chat_link_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_chat_link_chat_key"), ["chat_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_chat_link_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_chat_link_person_id"), ["person_id"], unique=False)

    op.create_table(
        "sync_company_state",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("index_built", sa.Boolean(), nullable=False),
        sa.Column("index_watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deferred_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("defer_reason", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "sync_intent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("intent_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("intent_key"),
    )
    with op.batch_alter_table("sync_intent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_intent_company_id"), ["company_id"], unique=False)

    op.create_table(
        "sync_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_problem", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_problem_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_problem_company_id"), ["company_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_problem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_problem_company_id"))
        batch_op.drop_index(batch_op.f("ix_sync_problem_chat_id"))

    op.drop_table("sync_problem")
    with op.batch_alter_table("sync_intent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_intent_company_id"))

    op.drop_table("sync_intent")
    op.drop_table("sync_company_state")
    with op.batch_alter_table("sync_chat_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_chat_link_person_id"))
        batch_op.drop_index(batch_op.f("ix_sync_chat_link_company_id"))
        batch_op.drop_index(batch_op.f("ix_sync_chat_link_chat_key"))
        batch_op.drop_index(batch_op.f("ix_sync_chat_link_account_id"))

    op.drop_table("sync_chat_link")
    op.drop_table("phone_index_entry")
    with op.batch_alter_table("media_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_upload_company_id"))

    op.drop_table("media_upload")
    with op.batch_alter_table("sync_day_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_day_activity_dirty"))
        batch_op.drop_index(batch_op.f("ix_sync_day_activity_chat_id"))

    op.drop_table("sync_day_activity")
    with op.batch_alter_table("message_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_media_sha256"))

    op.drop_table("message_media")
    op.drop_table("media")
