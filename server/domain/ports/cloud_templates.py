"""Ports for Meta-approved templates: reading a Cloud number's approved templates (``server.whatsapp
.cloud_templates``), the company's variable mappings and when a contact last wrote to a number
(``server.storage.cloud_templates``). The services in ``server.services.cloud_templates`` and
``server.services.send`` use them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from server.domain.cloud_templates import ApprovedTemplate


class ApprovedTemplates(Protocol):
    """The APPROVED templates a Cloud API number may send (all pages; pending and rejected left out)."""

    async def approved(self, account_id: str) -> Sequence[ApprovedTemplate]:
        """``account_id`` is the Cloud API phone number id. ``ConfigurationError``
        (``cloud_business_account_missing``) when the WhatsApp Business Account is not configured."""
        ...


class TemplateMappings(Protocol):
    """Per company: for each approved template (``name:language``), variable → placeholder."""

    async def for_company(self, company_id: int) -> dict[str, dict[str, str]]: ...

    async def get(self, company_id: int, key: str) -> dict[str, str] | None: ...

    async def save(self, company_id: int, key: str, mapping: Mapping[str, str], user_id: int) -> None: ...


class ContactWindow(Protocol):
    """When a contact last wrote to one of the company's numbers (the inbox knows)."""

    async def last_inbound_at(self, account_id: int, e164: str) -> datetime | None: ...
