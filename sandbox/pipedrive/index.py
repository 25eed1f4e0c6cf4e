"""The sandbox's front page: who is in it and where to click (companies, users, people, deals)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.pipedrive.host import TEMPLATES
from sandbox.pipedrive.state import SandboxState


def index_routes(state: SandboxState) -> list[BaseRoute]:
    async def index(request: Request) -> Response:
        companies = []
        for company in state.companies.values():
            data = state.company_data(company.id)
            companies.append(
                {
                    "company": company,
                    "users": state.company_users(company.id),
                    "persons": [p for p in data.persons.values() if not p.get("is_deleted")],
                    "deals": [d for d in data.deals.values() if not d.get("is_deleted")],
                }
            )
        html = TEMPLATES.get_template("sandbox_index.html").render(companies=companies, clients=state.clients)
        return HTMLResponse(html)

    return [Route("/", index, methods=["GET"], name="sandbox_index")]
