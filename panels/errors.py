"""The one catalogue of named failures: each reason's title, the advice where the reason alone does not
say what to do, and the way out (install, numbers page); and the one error partial that shows them.

The same failure reads the same on every surface; only the word for where the user is changes ("Open this
page from Pipedrive" on the numbers and settings pages, "… this panel …" in the panel).
"""

from __future__ import annotations

from dataclasses import dataclass

from panels.templating import render
from server.domain.text import Text

TITLES = {
    # Pipedrive's signed token, on every page it frames ({where}: page or panel)
    "token_missing": "Open this {where} from Pipedrive",
    "token_expired": "This {where} has been open a long time",
    "token_invalid": "This {where} could not prove it came from Pipedrive",
    "not_found": "Not found",
    "forbidden": "Not allowed",
    # installing WaPipe
    "user_denied": "WaPipe was not installed",
    "invalid_state": "This install link is not valid",
    "expired_state": "This install link has expired",
    "invalid_code": "Pipedrive's authorisation has expired",
    "missing_code": "Pipedrive did not send an authorisation",
    "oauth_error": "Pipedrive did not authorise WaPipe",
    "oauth_client_invalid": "WaPipe is not registered correctly",
    "admin_required": "A Pipedrive admin must install WaPipe first",
    "invalid_ticket": "This page has expired",
    "not_installed": "Install WaPipe first",
    "needs_reauth": "Re-install WaPipe",
    # the numbers page
    "invalid_phone_number_id": "That is not a phone number ID",
    "number_unknown": "Meta knows no number by that ID",
    "session_exists": "This number is already linked",
    "cloud_token_refused": "Meta refused the access token",
    "cloud_not_configured": "The Cloud API is not set up here",
    "too_many_pending_pairings": "Finish the numbers you started linking",
    "waha_too_old": "The WhatsApp gateway (WAHA) is too old",
    "waha_engine_unsupported": "The WhatsApp gateway (WAHA) runs an engine WaPipe cannot use",
    "waha_version_unreadable": "The WhatsApp gateway (WAHA) reports no usable version",
    # the panel and the chat view
    "budget_exhausted": "Pipedrive budget exhausted",
    "person_not_found": "Person not found",
    "deal_without_person": "This deal has no Person",
    "no_phone_on_person": "No phone number on this Person",
    "from_not_in_group": "Send from the group's number",
    "country_code_needed": "Choose the country",
    "number_invalid": "Number invalid for the country",
    "number_not_on_whatsapp": "Not on WhatsApp",
    "from_disconnected": "The From number is disconnected",
    "session_disconnected": "The From number is disconnected",
    "unknown_from_number": "Choose a From number",
    "no_from_number": "No WhatsApp number linked",
    "attachment_too_large": "Attachment too large",
    "attachment_missing": "Attachment not found",
    "outside_24h_window": "Outside the 24-hour window",
    "empty_message": "Nothing to send",
    "message_too_long": "Message too long",
    "invalid_request": "Reload the panel",
    "chat_not_found": "Chat not found",
    "chat_busy": "Try again in a moment",
    "invalid_person": "Enter a Person id",
    "invalid_deal": "Enter a Deal id",
    "card_not_found": "Contact card not found",
    "card_number_missing": "Choose a number of the card",
    "card_number_unreadable": "Not a phone number",
    "person_being_created": "Try again in a moment",
    "pipedrive_unavailable": "Pipedrive could not be reached",
    "storage_busy": "Try again in a moment",
}
# The title of a reason the catalogue does not name, by where it happened.
FALLBACK_TITLES = {"install": "WaPipe could not be installed"}
FALLBACK_TITLE = "Something went wrong"
# What to do next, where the reason alone does not say it.
ADVICE = {
    "outside_24h_window": (
        "WhatsApp Business (Cloud API) numbers may only send free-form messages within 24 hours of the "
        "contact's last message. Ask the contact to write first, or send from a number linked by QR code."
    ),
    "budget_exhausted": (
        "WaPipe has used the company's Pipedrive API allowance for today; nothing you typed was sent "
        "or lost. Try again after the daily reset, or ask an admin to raise the plan's limit."
    ),
    "attachment_too_large": "Nothing was sent. Choose a smaller file, or send a link to it instead.",
    "number_not_on_whatsapp": "Check the number with the Person, or choose another of their numbers.",
    "number_invalid": "Correct the number on the Person in Pipedrive, or choose the country it belongs to.",
    "from_disconnected": "Nothing was sent. Or choose another From number and send again.",
    "session_disconnected": (
        "Link it again on the WhatsApp numbers page, or use Edit and send again with another From number."
    ),
}
# The panel's ways out: install (again), or link a number (again) on the numbers page.
INSTALL_REASONS = frozenset({"not_installed", "needs_reauth"})
NUMBERS_REASONS = frozenset({"from_disconnected", "session_disconnected", "no_from_number"})


@dataclass(frozen=True, slots=True)
class ErrorView:
    """A named failure as a person sees it. ``where``: "page" (numbers, settings), "panel" (the panel and
    its contact cards) or "install" (the install flow, whose ``retry_url`` starts it again)."""

    reason: str
    message: str | Text
    where: str = "page"
    retry_url: str | None = None

    @property
    def title(self) -> str:
        fallback = FALLBACK_TITLES.get(self.where, FALLBACK_TITLE)
        return TITLES.get(self.reason, fallback).replace("{where}", self.where)

    @property
    def hint(self) -> str:
        return ADVICE.get(self.reason, "") if self.where == "panel" else ""

    @property
    def install_link(self) -> bool:
        return self.where == "panel" and self.reason in INSTALL_REASONS

    @property
    def numbers_link(self) -> bool:
        return self.where == "panel" and self.reason in NUMBERS_REASONS


def panel_error(reason: str, message: str | Text) -> ErrorView:
    return ErrorView(reason, message, where="panel")


def render_error(view: ErrorView) -> str:
    return render("partials/_error.html", error=view)
