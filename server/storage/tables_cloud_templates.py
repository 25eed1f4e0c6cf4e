"""Tables of Meta-approved templates (migration 0022): what fills each variable of a company's approved
Cloud API templates. (The outbox's template columns are on ``Outbox`` in ``tables``.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from server.storage.tables import UtcDateTime, utcnow


class CloudTemplateMapping(SQLModel, table=True):
    """For one approved template (``name:language``) of one company: variable → WaPipe placeholder, as
    JSON (``{"1": "person.first_name|there"}``)."""

    __tablename__ = "cloud_template_mapping"
    __table_args__ = (UniqueConstraint("company_id", "template_key"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    template_key: str = Field(max_length=600)  # name (≤512) ":" language
    mapping: str = Field(default="{}", sa_type=Text)
    updated_by: int = Field(default=0)  # the Pipedrive user who saved it
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
