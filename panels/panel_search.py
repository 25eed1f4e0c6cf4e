"""The panel's search results for re-linking a chat or pinning a Deal: each hit is a button that submits
its form with the hit's id."""

from __future__ import annotations

from dataclasses import dataclass

from panels.templating import render
from server.domain.text import Text


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: int
    title: str  # the Person's name, the Deal's title
    detail: str | Text  # phones; the Deal's Person and status


@dataclass(frozen=True, slots=True)
class SearchView:
    what: str  # "person" or "deal"
    term: str
    hits: tuple[SearchHit, ...]
    too_short: bool = False

    @property
    def field(self) -> str:
        """The form field a chosen hit fills."""
        return "person_id" if self.what == "person" else "deal_id"

    @property
    def nothing_found(self) -> Text:
        if self.what == "person":
            return Text("No Person found for “%(term)s”.", term=self.term)
        return Text("No Deal found for “%(term)s”.", term=self.term)

    @property
    def hits_label(self) -> Text:
        return Text("Persons found") if self.what == "person" else Text("Deals found")


def render_search(view: SearchView) -> str:
    return render("partials/_panel_search.html", search=view)
