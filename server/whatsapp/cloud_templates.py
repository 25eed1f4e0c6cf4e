"""Reading a WhatsApp Business Account's approved message templates from the Graph API.

    reader = CloudTemplateReader(http, access_token=token, business_account_id="102290129340398")
    templates = await reader.approved("106540352242922")

``GET /{WABA-ID}/message_templates?fields=name,language,status,category,components,parameter_format``,
paged with cursors (``paging.cursors.after`` while ``paging.next`` is there, at most ``MAX_PAGES``). Only
``APPROVED`` templates are returned: pending, rejected, paused and disabled ones cannot be sent. The
account (phone number id) is the number the templates are for; every number of the configured WhatsApp
Business Account shares its templates. WaPipe fills body variables only, so a template whose header is
media or has variables, or whose button link has one, is left out too. Failures are the domain's
(``server.whatsapp.cloud_errors``); without a configured WhatsApp Business Account id the reader refuses
with ``cloud_business_account_missing``.
"""

from __future__ import annotations

import re

import httpx

from server.domain.cloud_templates import ApprovedTemplate
from server.domain.errors import ConfigurationError
from server.domain.text import Text
from server.whatsapp.cloud import GRAPH_URL, CloudTransport
from server.whatsapp.cloud_errors import graph_json
from server.whatsapp.untrusted_input import JsonObject, get_list, get_object, get_str, objects_in

FIELDS = "name,language,status,category,components,parameter_format"
PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 templates: far more than Meta lets one account have
_BUSINESS_ACCOUNT_ID = re.compile(r"[0-9]{1,32}")
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")


class CloudTemplateReader:
    """``ApprovedTemplates`` over the Graph API."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_token: str,
        business_account_id: str,
        graph_url: str = GRAPH_URL,
    ) -> None:
        self.http = http
        self.access_token = access_token
        self.business_account_id = business_account_id.strip()
        self.graph_url = graph_url.rstrip("/")

    async def approved(self, account_id: str) -> list[ApprovedTemplate]:
        waba = self.business_account_id
        if not waba:
            raise ConfigurationError(
                Text(
                    "Set WAPIPE_CLOUD_BUSINESS_ACCOUNT_ID to the WhatsApp Business Account id to offer its "
                    "approved templates"
                ),
                reason="cloud_business_account_missing",
            )
        if not _BUSINESS_ACCOUNT_ID.fullmatch(waba):
            raise ConfigurationError(
                Text("WAPIPE_CLOUD_BUSINESS_ACCOUNT_ID is not a WhatsApp Business Account id"),
                reason="cloud_business_account_invalid",
            )
        found: list[ApprovedTemplate] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            params = {"fields": FIELDS, "limit": str(PAGE_SIZE)}
            if after:
                params["after"] = after
            page = await self._page(f"{self.graph_url}/{waba}/message_templates", params)
            found.extend(t for t in map(approved_template, objects_in(get_list(page, "data"))) if t)
            paging = get_object(page, "paging")
            after = get_str(get_object(paging, "cursors"), "after")
            if not get_str(paging, "next") or not after:
                break
        return found

    async def _page(self, url: str, params: dict[str, str]) -> JsonObject:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        return await graph_json(
            self.http, "GET", url, what="the templates list", params=params, headers=headers
        )


def approved_template(raw: JsonObject) -> ApprovedTemplate | None:
    """One listed template, or ``None`` when it is not APPROVED or cannot be sent as WaPipe sends."""
    name, language = get_str(raw, "name"), get_str(raw, "language")
    if get_str(raw, "status") != "APPROVED" or not name or not language:
        return None
    if not _TEMPLATE_NAME.fullmatch(name):
        return None
    components = {(get_str(c, "type") or "").upper(): c for c in objects_in(get_list(raw, "components"))}
    body = get_str(components.get("BODY"), "text") or ""
    header_part = components.get("HEADER")
    header_format = (get_str(header_part, "format") or "TEXT").upper()
    header = get_str(header_part, "text") or ""
    listed_buttons = objects_in(get_list(components.get("BUTTONS"), "buttons"))
    if header_part is not None and (header_format != "TEXT" or "{{" in header):
        return None  # a media header or header variables need parameters WaPipe does not send
    if any("{{" in (get_str(button, "url") or "") for button in listed_buttons):
        return None  # so does a button whose link ends in a variable
    buttons = tuple(text for button in listed_buttons if (text := get_str(button, "text")))
    return ApprovedTemplate(
        name=name,
        language=language,
        category=(get_str(raw, "category") or "").upper(),
        body=body,
        header=header,
        footer=get_str(components.get("FOOTER"), "text") or "",
        buttons=buttons,
        named=(get_str(raw, "parameter_format") or "").upper() == "NAMED",
    )


def reader_for(transport: object) -> CloudTemplateReader | None:
    """The approved-templates reader over a process's Cloud API transport; ``None`` without one."""
    if not isinstance(transport, CloudTransport):
        return None
    return CloudTemplateReader(
        transport.http,
        access_token=transport.access_token,
        business_account_id=transport.business_account_id,
        graph_url=transport.graph_url,
    )
