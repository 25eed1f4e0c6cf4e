"""Meta-approved templates for Cloud API numbers: which ones a number may send, what fills their variables
in this company, and the template a send carries for one contact.

``CloudTemplates`` reads a number's approved templates through the ``ApprovedTemplates`` port and keeps
them per number for ``TemplateCache.ttl`` (five minutes by default, on the injected clock), so opening the
picker again does not ask Meta again. Mappings (variable → placeholder) are stored per company; saving one
is for admins (the route checks) and is audited (``cloud_template.map``).

Refusals by name: ``template_needs_cloud_number`` (a WhatsApp Web number cannot send Meta templates),
``cloud_not_configured``, ``unknown_template`` (not among the number's approved templates), and those of
``server.domain.cloud_templates`` (mapping and filling).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from server.domain.clock import Clock
from server.domain.cloud_templates import (
    ApprovedTemplate,
    TemplateChoice,
    TemplateSend,
    check_mapping,
    choice,
    fill,
    placeholder_body,
    split_key,
)
from server.domain.errors import ConfigurationError, InvalidInput
from server.domain.models import Account
from server.domain.ports.cloud_templates import ApprovedTemplates, TemplateMappings
from server.domain.ports.storage import AuditLog
from server.domain.text import Text
from server.domain.ttl_cache import TtlCache

CLOUD = "cloud"
DEFAULT_TTL = timedelta(minutes=5)  # templates change when Meta reviews them: minutes matter, seconds not
Values = Mapping[str, Mapping[str, str]]


class TemplateCache(TtlCache[str, tuple[ApprovedTemplate, ...]]):
    """Per process: a Cloud number's phone number id → its approved templates, for ``ttl``."""

    def __init__(self, ttl: timedelta = DEFAULT_TTL) -> None:
        super().__init__(ttl, 1_000)


def needs_cloud_number(account: Account | None = None) -> InvalidInput:
    """``template_needs_cloud_number``: a WhatsApp-approved template asked of ``account``, a WhatsApp Web
    number, or (``None``) with no Cloud API number to send it from. The one wording of a panel send, the
    template picker, and a campaign's preview and start."""
    if account is None:
        refusal = Text(
            "WhatsApp-approved templates are sent from WhatsApp Business (Cloud API) numbers: choose one to "
            "send from, or type the message yourself"
        )
    else:
        refusal = Text(
            "%(number)s is linked through WhatsApp Web, which cannot send WhatsApp-approved templates: send "
            "from a WhatsApp Business (Cloud API) number, or type the message yourself",
            number=account.e164 or account.display_name or Text("This WhatsApp number"),
        )
    return InvalidInput(refusal, reason="template_needs_cloud_number")


def require_cloud(account: Account) -> None:
    """``template_needs_cloud_number`` unless the account is a Cloud API number."""
    if account.transport != CLOUD:
        raise needs_cloud_number(account)


class CloudTemplates:
    def __init__(
        self,
        reader: ApprovedTemplates | None,
        mappings: TemplateMappings,
        clock: Clock,
        cache: TemplateCache,
        audit: AuditLog | None = None,
    ) -> None:
        self._reader = reader
        self._mappings = mappings
        self._clock = clock
        self._cache = cache
        self._audit = audit

    async def approved(self, account: Account) -> tuple[ApprovedTemplate, ...]:
        """The number's approved templates, read again after the cache's ``ttl``."""
        require_cloud(account)
        if self._reader is None:
            raise ConfigurationError(
                Text("The WhatsApp Cloud API is not configured on this server"), reason="cloud_not_configured"
            )
        now = self._clock.now()
        cached = self._cache.get(account.session_name, now)
        if cached is not None:
            return cached
        templates = tuple(await self._reader.approved(account.session_name))
        self._cache.put(account.session_name, now, templates)
        return templates

    async def template(self, account: Account, key: str) -> ApprovedTemplate:
        name, language = split_key(key)
        for template in await self.approved(account):
            if template.name == name and template.language == language:
                return template
        raise InvalidInput(
            Text(
                "%(template)s is not among this number's WhatsApp-approved templates (any more)",
                template=name,
            ),
            reason="unknown_template",
        )

    async def approved_for_picker(
        self, company_id: int, account: Account, values: Values
    ) -> list[TemplateChoice]:
        """The picker's "WhatsApp-approved templates" group for this contact: empty for a number that is not
        a Cloud API number, each template with its preview (or what it misses) otherwise."""
        if account.transport != CLOUD or account.company_id != company_id:
            return []
        mappings = await self._mappings.for_company(company_id)
        return [choice(t, mappings.get(t.key), values) for t in await self.approved(account)]

    async def for_send(self, company_id: int, account: Account, key: str, values: Values) -> TemplateSend:
        """The template filled for this contact, ready for ``SendRequest.template``."""
        require_cloud(account)
        template = await self.template(account, key)
        mapping = await self._mappings.get(company_id, template.key) or {}
        return fill(template, mapping, values)

    async def campaign_text(self, company_id: int, account: Account, key: str) -> str:
        """The template's body with this company's placeholders in place of its variables, for a campaign's
        message box: ``unknown_template``, ``unmapped_template_variable`` when it cannot be sent."""
        require_cloud(account)
        template = await self.template(account, key)
        return placeholder_body(template, await self._mappings.get(company_id, template.key) or {})

    async def mappings(
        self, company_id: int, account: Account
    ) -> list[tuple[ApprovedTemplate, dict[str, str]]]:
        """Each approved template of the number with what this company maps its variables to."""
        stored = await self._mappings.for_company(company_id)
        return [(t, stored.get(t.key, {})) for t in await self.approved(account)]

    async def save_mapping(
        self,
        company_id: int,
        user_id: int,
        account: Account,
        key: str,
        mapping: Mapping[str, str],
        known: Mapping[str, Iterable[str]],
    ) -> dict[str, str]:
        """Check and store what fills each variable of one approved template (admins; the route checks)."""
        template = await self.template(account, key)
        cleaned = check_mapping(template, mapping, known)
        await self._mappings.save(company_id, template.key, cleaned, user_id)
        if self._audit is not None:
            await self._audit.record(company_id, user_id, "cloud_template.map", template.key, dict(cleaned))
        return cleaned
