"""A campaign sent as a Meta-approved template (``Compose.approved_template``, ``name:language``): the check
a preview and a start make, and a preview row as a Cloud API number sends it.

The check refuses, by name, a template key when no Cloud API number is chosen
(``template_needs_cloud_number``), one not among the first chosen Cloud API number's approved templates
(``unknown_template``) or not set up yet (``unmapped_template_variable``); the approved list is read
through the templates' cache (``server.services.cloud_templates.TemplateCache``), so a preview per keystroke
does not ask Meta again. A preview row from a Cloud API number shows the template filled for that
recipient, or the skip the sending loop would make (``template_unavailable``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from server.domain.campaigns import Compose, PreviewRow, SkipReason
from server.domain.errors import ConfigurationError, InvalidInput
from server.domain.models import Account
from server.domain.text import Text
from server.services.campaigns.planning import Planned
from server.services.campaigns.tick import ApprovedTemplateFill
from server.services.cloud_templates import CLOUD, needs_cloud_number


def first_cloud(accounts: Mapping[int, Account], account_ids: Iterable[int]) -> Account | None:
    """The first of the chosen numbers that is a Cloud API number: its approved templates are the ones
    offered and checked (one business account serves them all)."""
    chosen = (accounts.get(account_id) for account_id in account_ids)
    return next((a for a in chosen if a is not None and a.transport == CLOUD), None)


async def check_approved(
    approved: ApprovedTemplateFill | None, company_id: int, compose: Compose, planned: Planned
) -> None:
    if not compose.approved_template:
        return
    cloud = first_cloud(planned.accounts, compose.account_ids)
    if cloud is None:
        raise needs_cloud_number()
    if approved is None:
        raise ConfigurationError(
            Text("The WhatsApp Cloud API is not configured on this server"), reason="cloud_not_configured"
        )
    await approved.campaign_text(company_id, cloud, compose.approved_template)


async def as_sent(
    approved: ApprovedTemplateFill | None,
    company_id: int,
    compose: Compose,
    sender: Account,
    row: PreviewRow,
    values: Mapping[str, Mapping[str, str]],
) -> PreviewRow:
    """``row`` as ``sender`` sends it: unchanged unless the campaign is sent as an approved template from a
    Cloud API number; then the template's body filled for this recipient, or skipped."""
    if not compose.approved_template or sender.transport != CLOUD:
        return row
    unavailable = replace(row, skip=SkipReason.TEMPLATE_UNAVAILABLE, missing=())
    if approved is None:
        return unavailable
    try:
        sent = await approved.for_send(company_id, sender, compose.approved_template, values)
    except InvalidInput:
        return unavailable
    return replace(row, text=sent.body, missing=(), approved_template=compose.approved_template)
