"""The panel's search for re-linking a chat and pinning a Deal: Persons by name or phone, Deals by title,
through Pipedrive's own search (``persons/search``, ``deals/search``). The page asks once the user paused
typing (debounced in the page); each ask is one search request, held to Pipedrive's search rate limit by
the client, and a term too short for Pipedrive's search is not sent."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from panels.panel_search import SearchHit, SearchView, render_search
from server.domain.errors import InvalidInput
from server.domain.text import Text
from server.pipedrive.persons import SearchField
from server.web.frame_auth import FrameIdentity
from server.web.panel import panel_endpoint
from server.web.panel_context import pipedrive_for

MIN_TERM = 2  # Pipedrive's search refuses shorter terms
MAX_TERM = 100
RESULTS = 10
_PHONE_LIKE = re.compile(r"\+?[\d\s()./-]{3,}")
DEAL_STATUSES = {"open": Text("open"), "won": Text("won"), "lost": Text("lost"), "deleted": Text("deleted")}


def person_query(term: str) -> tuple[str, SearchField]:
    """What to ask ``persons/search``: a term that reads as a phone number as its digits without the
    trunk or international prefix (``0151 1234 5678`` finds ``+49 151 12345678``), else the name."""
    if _PHONE_LIKE.fullmatch(term) and sum(c.isdigit() for c in term) >= 3:
        digits = "".join(c for c in term if c.isdigit()).lstrip("0")
        return digits or term, "phone"
    return term, "name"


def deal_detail(person_name: str | None, status: str | None) -> str | Text:
    """A Deal hit's Person and status ("Maria Kunde · open"), the status as Pipedrive's pages name it."""
    shown = DEAL_STATUSES.get(status or "", status or "")
    if person_name and shown:
        return Text("%(person)s · %(status)s", person=person_name, status=shown)
    return person_name or shown


@panel_endpoint(page=False)
async def search(request: Request, identity: FrameIdentity) -> Response:
    """``GET /panel/search?what=person&person=<term>`` or ``?what=deal&deal=<term>``: the hits as
    buttons that choose them."""
    what = request.query_params.get("what", "")
    if what not in ("person", "deal"):
        raise InvalidInput(Text("Search for a Person or a Deal"), reason="invalid_request")
    term = " ".join(request.query_params.get(what, "").split())[:MAX_TERM]
    if len(term) < MIN_TERM:
        return HTMLResponse(render_search(SearchView(what, term, (), too_short=bool(term))))
    client = await pipedrive_for(request, identity)
    hits: tuple[SearchHit, ...]
    if what == "person":
        asked, field = person_query(term)
        found = (await client.persons.search(asked, field=field, limit=RESULTS)).items
        hits = tuple(SearchHit(p.id, p.name, ", ".join(p.phones[:2])) for p in found)
    else:
        deals = await client.deals.search(term, limit=RESULTS)
        hits = tuple(SearchHit(d.id, d.title, deal_detail(d.person_name, d.status)) for d in deals)
    return HTMLResponse(render_search(SearchView(what, term, hits)))
