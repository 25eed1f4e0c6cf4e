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
    def install_link(self) -> bool:
        return self.reason in INSTALL_REASONS

    @property
    def numbers_link(self) -> bool:
        return self.reason in NUMBERS_REASONS
