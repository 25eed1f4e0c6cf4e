"""The database schema as sqlmodel tables. Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Company(SQLModel, table=True):
    """A Pipedrive company that installed WaPipe."""

    __tablename__ = "company"

    id: int | None = Field(default=None, primary_key=True)
    pipedrive_company_id: int = Field(unique=True, index=True)
    name: str = Field(default="", max_length=255)
    api_domain: str = Field(default="", max_length=255)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class WorkerHeartbeat(SQLModel, table=True):
    """When each job runner last proved it was alive (a cron job writes it)."""

    __tablename__ = "worker_heartbeat"

    name: str = Field(primary_key=True, max_length=128)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
