"""The settings page's re-check list: links matching made that the current rules would not make, each
with the Person, the number, why it no longer matches, and the admin's two answers (Keep, Re-link)."""

from __future__ import annotations

from dataclasses import dataclass

from panels.templating import render
from server.domain.link_recheck import StaleLink
from server.domain.settings_form import FieldError
from server.domain.text import Text


@dataclass(frozen=True, slots=True)
class RecheckView:
    rows: tuple[StaleLink, ...]
    next_after: int | None = None  # the chat id the next page starts after
    after: int = 0  # where this page started (0: the first page)
    index_built: bool = True
    notice: str | Text = ""
    error: FieldError | None = None


def render_recheck(view: RecheckView) -> str:
    return render("partials/_settings_recheck.html", recheck=view)
