"""The one catalogue of named failures: each reason's title, the advice where the reason alone does not
say what to do, and the way out (install, numbers page); and the one error partial that shows them.

The same failure reads the same on every surface; only the word for where the user is changes ("Open this
page from Pipedrive" on the numbers and settings pages, "… this panel …" in the panel). Titles and advice
are words to translate (``Text``): the partial shows them in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from panels.templating import render
from server.domain.text import Text

TITLES = {
    # Pipedrive's signed token, on every page it frames: WHERE_TITLES names the page or the panel
    "not_found": Text("Not found"),
    "forbidden": Text("Not allowed"),
    # installing WaPipe
    "user_denied": Text("WaPipe was not installed"),
    "invalid_state": Text("This install link is not valid"),
    "expired_state": Text("This install link has expired"),
    "invalid_code": Text("Pipedrive's authorisation has expired"),
    "missing_code": Text("Pipedrive did not send an authorisation"),
    "oauth_error": Text("Pipedrive did not authorise WaPipe"),
    "oauth_client_invalid": Text("WaPipe is not registered correctly"),
    "admin_required": Text("A Pipedrive admin must install WaPipe first"),
    "invalid_ticket": Text("This page has expired"),
    "not_installed": Text("Install WaPipe first"),
    "needs_reauth": Text("Re-install WaPipe"),
    # the numbers page
    "invalid_phone_number_id": Text("That is not a phone number ID"),
    "number_unknown": Text("Meta knows no number by that ID"),
    "session_exists": Text("This number is already linked"),
    "cloud_token_refused": Text("Meta refused the access token"),
    "cloud_not_configured": Text("The Cloud API is not set up here"),
    "too_many_pending_pairings": Text("Finish the numbers you started linking"),
    "waha_too_old": Text("The WhatsApp gateway (WAHA) is too old"),
    "waha_engine_unsupported": Text("The WhatsApp gateway (WAHA) runs an engine WaPipe cannot use"),
    "waha_version_unreadable": Text("The WhatsApp gateway (WAHA) reports no usable version"),
    # the panel and the chat view
    "budget_exhausted": Text("Pipedrive budget exhausted"),
    "person_not_found": Text("Person not found"),
    "deal_without_person": Text("This deal has no Person"),
    "no_phone_on_person": Text("No phone number on this Person"),
    "from_not_in_group": Text("Send from the group's number"),
    "country_code_needed": Text("Choose the country"),
    "number_invalid": Text("Number invalid for the country"),
    "number_not_on_whatsapp": Text("Not on WhatsApp"),
    "from_disconnected": Text("The From number is disconnected"),
    "session_disconnected": Text("The From number is disconnected"),
    "unknown_from_number": Text("Choose a From number"),
    "no_from_number": Text("No WhatsApp number linked"),
    "attachment_too_large": Text("Attachment too large"),
    "attachment_missing": Text("Attachment not found"),
    "outside_24h_window": Text("Outside the 24-hour window"),
    # WhatsApp-approved templates (Cloud API numbers)
    "outside_cloud_window": Text("Pick an approved template"),
    "template_needs_cloud_number": Text("Templates need a WhatsApp Business number"),
    "unknown_template": Text("Template not available"),
    "unmapped_template_variable": Text("Template not set up yet"),
    "empty_template_parameter": Text("A template value is empty"),
    "template_not_found": Text("Template not approved in this language"),
    "template_parameter_mismatch": Text("The template changed at Meta"),
    "empty_message": Text("Nothing to send"),
    "message_too_long": Text("Message too long"),
    "invalid_request": Text("Reload the panel"),
    "chat_not_found": Text("Chat not found"),
    "chat_busy": Text("Try again in a moment"),
    "invalid_person": Text("Enter a Person id"),
    "invalid_deal": Text("Enter a Deal id"),
    "card_not_found": Text("Contact card not found"),
    "card_number_missing": Text("Choose a number of the card"),
    "card_number_unreadable": Text("Not a phone number"),
    "person_being_created": Text("Try again in a moment"),
    "pipedrive_unavailable": Text("Pipedrive could not be reached"),
    "storage_busy": Text("Try again in a moment"),
}
# The titles that name where the user is: the panel (and its contact cards), else the page they are on.
WHERE_TITLES = {
    "token_missing": {
        "page": Text("Open this page from Pipedrive"),
        "panel": Text("Open this panel from Pipedrive"),
    },
    "token_expired": {
        "page": Text("This page has been open a long time"),
        "panel": Text("This panel has been open a long time"),
    },
    "token_invalid": {
        "page": Text("This page could not prove it came from Pipedrive"),
        "panel": Text("This panel could not prove it came from Pipedrive"),
    },
}
# The title of a reason the catalogue does not name, by where it happened.
FALLBACK_TITLES = {"install": Text("WaPipe could not be installed")}
FALLBACK_TITLE = Text("Something went wrong")
# What to do next, where the reason alone does not say it.
ADVICE = {
    "outside_24h_window": Text(
        "WhatsApp Business (Cloud API) numbers may only send free-form messages within 24 hours of the "
        "contact's last message. Ask the contact to write first, or send from a number linked by QR code."
    ),
    "budget_exhausted": Text(
        "WaPipe has used the company's Pipedrive API allowance for today; nothing you typed was sent "
        "or lost. Try again after the daily reset, or ask an admin to raise the plan's limit."
    ),
    "attachment_too_large": Text("Nothing was sent. Choose a smaller file, or send a link to it instead."),
    "number_not_on_whatsapp": Text("Check the number with the Person, or choose another of their numbers."),
    "number_invalid": Text(
        "Correct the number on the Person in Pipedrive, or choose the country it belongs to."
    ),
    "from_disconnected": Text("Nothing was sent. Or choose another From number and send again."),
    "session_disconnected": Text(
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
    def title(self) -> Text:
        named = WHERE_TITLES.get(self.reason)
        if named is not None:
            return named["panel" if self.where == "panel" else "page"]
        return TITLES.get(self.reason, FALLBACK_TITLES.get(self.where, FALLBACK_TITLE))

    @property
    def hint(self) -> Text | str:
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
