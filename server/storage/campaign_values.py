"""A campaign's ``Compose`` and ``Pacing`` as the JSON its row keeps ("" for none, and for the defaults)."""

from __future__ import annotations

import json
from datetime import datetime

from server.domain.campaigns import Compose, FromMode, Pacing
from server.domain.message_templates import TemplateAttachment


def compose_json(compose: Compose | None) -> str:
    if compose is None:
        return ""
    return json.dumps(
        {
            "text": compose.text,
            "from_mode": compose.from_mode.value,
            "account_ids": list(compose.account_ids),
            "template_id": compose.template_id,
            "approved_template": compose.approved_template,
            "attachment": (
                None
                if compose.attachment is None
                else {"file_id": compose.attachment.file_id, "name": compose.attachment.name}
            ),
        }
    )


def compose_from_json(raw: str) -> Compose | None:
    if not raw:
        return None
    value = json.loads(raw)
    return Compose(
        text=str(value.get("text", "")),
        from_mode=FromMode(value.get("from_mode", FromMode.FIXED.value)),
        account_ids=tuple(int(i) for i in value.get("account_ids", [])),
        template_id=value.get("template_id"),
        approved_template=str(value.get("approved_template", "")),
        attachment=_attachment(value.get("attachment")),
    )


def _attachment(value: object) -> TemplateAttachment | None:
    if not isinstance(value, dict):
        return None
    return TemplateAttachment(int(value["file_id"]), str(value.get("name", "")))


def pacing_json(pacing: Pacing) -> str:
    return json.dumps(
        {
            "min_gap_seconds": pacing.min_gap_seconds,
            "max_gap_seconds": pacing.max_gap_seconds,
            "daily_cap": pacing.daily_cap,
            "quiet_start": pacing.quiet_start,
            "quiet_end": pacing.quiet_end,
            "start_at": pacing.start_at.isoformat() if pacing.start_at is not None else None,
        }
    )


def pacing_from_json(raw: str) -> Pacing:
    if not raw:
        return Pacing()
    value = json.loads(raw)
    start = value.get("start_at")
    return Pacing(
        min_gap_seconds=int(value["min_gap_seconds"]),
        max_gap_seconds=int(value["max_gap_seconds"]),
        daily_cap=int(value["daily_cap"]),
        quiet_start=str(value["quiet_start"]),
        quiet_end=str(value["quiet_end"]),
        start_at=datetime.fromisoformat(start) if start else None,
    )
