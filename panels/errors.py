"""One error partial for every named failure: what went wrong, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from panels.templating import render

TITLES = {
    "token_missing": "Open this page from Pipedrive",
    "token_expired": "This page has been open a long time",
    "token_invalid": "This page could not prove it came from Pipedrive",
    "not_found": "Not found",
    "forbidden": "Not allowed",
    "invalid_phone_number_id": "That is not a phone number ID",
    "number_unknown": "Meta knows no number by that ID",
    "session_exists": "This number is already linked",
    "cloud_token_refused": "Meta refused the access token",
    "cloud_not_configured": "The Cloud API is not set up here",
    "too_many_pending_pairings": "Finish the numbers you started linking",
    "waha_too_old": "The WhatsApp gateway (WAHA) is too old",
    "waha_engine_unsupported": "The WhatsApp gateway (WAHA) runs an engine WaPipe cannot use",
    "waha_version_unreadable": "The WhatsApp gateway (WAHA) reports no usable version",
}


@dataclass(frozen=True, slots=True)
class ErrorView:
    reason: str
    message: str

    @property
    def title(self) -> str:
        return TITLES.get(self.reason, "Something went wrong")


def render_error(view: ErrorView) -> str:
    return render("partials/_error.html", error=view)
