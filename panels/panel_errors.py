"""The panel's named failures: a title and, where there is one, the way out (install, numbers page)."""

from __future__ import annotations

from dataclasses import dataclass

TITLES = {
    "token_missing": "Open this panel from Pipedrive",
    "token_expired": "This panel has been open a long time",
    "token_invalid": "This panel could not prove it came from Pipedrive",
    "not_installed": "Install WaPipe first",
    "needs_reauth": "Re-install WaPipe",
    "budget_exhausted": "Pipedrive budget exhausted",
    "person_not_found": "Person not found",
    "deal_without_person": "This deal has no Person",
    "no_phone_on_person": "No phone number on this Person",
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
}
# What to do next, where the reason alone does not say it.
HINTS = {
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
}
INSTALL_REASONS = frozenset({"not_installed", "needs_reauth"})
NUMBERS_REASONS = frozenset({"from_disconnected", "session_disconnected", "no_from_number"})


@dataclass(frozen=True, slots=True)
class PanelError:
    reason: str
    message: str

    @property
    def title(self) -> str:
        return TITLES.get(self.reason, "Something went wrong")

    @property
    def hint(self) -> str:
        return HINTS.get(self.reason, "")

    @property
    def install_link(self) -> bool:
        return self.reason in INSTALL_REASONS

    @property
    def numbers_link(self) -> bool:
        return self.reason in NUMBERS_REASONS
