"""Domain records: plain, immutable values the services work with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Company:
    """A Pipedrive company that installed WaPipe."""

    id: int
    pipedrive_company_id: int
    name: str
    api_domain: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A connected WhatsApp number as the ingest path needs it."""

    id: int
    company_id: int
    transport: str
    session_name: str
