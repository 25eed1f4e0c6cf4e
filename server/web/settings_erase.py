"""The settings page's "Erase a contact" action (a data-protection request), for admins only.

Two steps: the typed number is checked and what would be erased is shown (a dry run); the confirmation
erases it and lists what stays in Pipedrive. The company is the verified token's, never the form's; the
audit log keeps the erasure with the number shortened, so the log itself does not keep the contact.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.settings import EraseView, render_erase
from server.domain.settings_form import FieldError, contact_number
from server.storage.audit import SqlAuditLog
from server.storage.erasure import ErasureReport, erase_contact
from server.web.frame_auth import FrameIdentity
from server.web.numbers import framed
from server.web.resources import Resources
from server.web.settings_page import require_admin

log = logging.getLogger(__name__)
MAX_TYPED = 64


def masked(e164: str) -> str:
    """ "+49…678": enough for an admin to tell erasures apart, not enough to keep the number."""
    return f"{e164[:3]}…{e164[-3:]}"


def _view(stage: str, report: ErasureReport) -> EraseView:
    erased = report.as_dict()["erased"]
    assert isinstance(erased, dict)
    return EraseView(
        stage=stage,
        e164=report.phone,
        erased={str(key): int(value) for key, value in erased.items()},
        remaining_in_pipedrive=tuple(report.remaining_in_pipedrive),
    )


@framed
async def erase_form(request: Request, identity: FrameIdentity) -> Response:
    """The empty form (the confirmation's Cancel)."""
    await require_admin(request, identity)
    return HTMLResponse(render_erase(EraseView()))


@framed
async def erase(request: Request, identity: FrameIdentity) -> Response:
    await require_admin(request, identity)
    resources: Resources = request.app.state.resources
    form = await request.form()
    typed = str(form.get("phone", ""))[:MAX_TYPED]
    checked = contact_number(typed)
    if isinstance(checked, FieldError):
        return HTMLResponse(render_erase(EraseView(typed=typed, error=checked)), status_code=400)
    company_id = identity.company.id
    if str(form.get("confirm", "")) != "yes":
        preview = await erase_contact(resources.engine, company_id, checked, dry_run=True)
        return HTMLResponse(render_erase(_view("confirm", preview)))
    report = await erase_contact(resources.engine, company_id, checked, files=resources.media)
    details = report.as_dict()
    await SqlAuditLog(resources.engine).record(
        company_id,
        identity.pipedrive_user_id,
        "contact.erase",
        masked(checked),
        {"erased": details["erased"], "remaining_in_pipedrive": len(report.remaining_in_pipedrive)},
    )
    log.info("contact erased", extra={"company": company_id, "by": identity.pipedrive_user_id})
    return HTMLResponse(render_erase(_view("done", report)), headers={"HX-Trigger": "audit-changed"})
