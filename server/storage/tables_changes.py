"""Tables of what happened to messages after they arrived: edits and deletions whose day the sync has not
rewritten yet (migration 0013), reactions (0015), changes and reactions waiting for their message, and
Pipedrive files to delete (0016)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.storage.tables import UtcDateTime, utcnow

# --- messages changed after they were stored (migration 0013) -----------------------------------------


class MessageChange(SQLModel, table=True):
    """A stored message its sender edited or deleted, whose day the sync has not rewritten yet."""

    __tablename__ = "message_change"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(index=True)
    message_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    day_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # a reaction's day, not its message's


class MessageReaction(SQLModel, table=True):
    """One person's reaction to a message (migration 0015); ``emoji`` "" once they removed it, so a late
    older event cannot bring it back."""

    __tablename__ = "message_reaction"
    __table_args__ = (UniqueConstraint("message_id", "reactor_key"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    reactor_key: str = Field(max_length=128)  # the chat key of who reacted; "me" for the connected number
    reactor_name: str = Field(default="", max_length=255)
    from_me: bool = Field(default=False)
    emoji: str = Field(default="", max_length=64)
    reacted_at: datetime = Field(sa_type=UtcDateTime, index=True)


# --- changes waiting for their message, Pipedrive files to delete (migration 0016) ---------------------


class WaitingChange(SQLModel, table=True):
    """An edit or a deletion by the sender naming a message not stored (yet): applied when that message is
    stored later (a catch-up brings it from the gateway's history, which still shows it as first sent)."""

    __tablename__ = "waiting_change"
    __table_args__ = (UniqueConstraint("account_id", "message_key", "kind", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="whatsapp_account.id", index=True)
    message_key: str = Field(max_length=200)
    target_id: str = Field(max_length=128)
    target_from_me: bool = Field(default=False)
    kind: str = Field(max_length=16)  # edited | revoked
    text: str = Field(default="", sa_type=Text)  # an edit's new text
    changed_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class WaitingReaction(SQLModel, table=True):
    """A reaction naming a message not stored (yet), under each key that message may have (the Cloud API
    names it by id alone): applied when that message is stored later. On its own it starts no chat."""

    __tablename__ = "waiting_reaction"
    __table_args__ = (UniqueConstraint("account_id", "message_key", "reactor_key", "reacted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="whatsapp_account.id", index=True)
    message_key: str = Field(max_length=200, index=True)
    target_id: str = Field(max_length=128)
    target_from_me: bool | None = Field(default=None)
    reactor_key: str = Field(max_length=128)
    reactor_name: str = Field(default="", max_length=255)
    from_me: bool = Field(default=False)
    emoji: str = Field(default="", max_length=64)  # "" takes the reaction back
    reacted_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)


class FileDeletion(SQLModel, table=True):
    """A file in Pipedrive's Files whose message its sender deleted: the chat's next sync deletes it there."""

    __tablename__ = "file_deletion"
    __table_args__ = (UniqueConstraint("company_id", "file_id"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    chat_id: int = Field(index=True)
    file_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
