"""The table of saved message templates (migration 0020): a company's templates and each user's own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.storage.tables import UtcDateTime, utcnow


class MessageTemplateRow(SQLModel, table=True):
    """One template; ``owner_user_id`` 0 for a company template, else the Pipedrive user whose own it is.
    A name is unique within its scope (the company's, or one user's)."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("company_id", "owner_user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    owner_user_id: int = Field(default=0)
    name: str = Field(max_length=100)
    text: str = Field(default="", sa_type=Text)
    file_id: int | None = Field(default=None)
    file_name: str = Field(default="", max_length=255)
    created_by: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
