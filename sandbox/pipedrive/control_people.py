"""`/_sandbox/...` controls that play a user in Pipedrive's web app, and read back webhook deliveries.

PATCH  /_sandbox/companies/{cid}/persons/{pid}        edit name, phones, emails as a user (change, "app")
DELETE /_sandbox/companies/{cid}/persons/{pid}        delete the Person as a user (delete, "app")
POST   /_sandbox/companies/{cid}/persons/{pid}/merge  merge it into `merge_with_id` as a user
GET    /_sandbox/webhook-deliveries                   every attempt with headers and payload
                                                      (filters: company_id, webhook_id, entity_id, action)
POST   /_sandbox/webhook-deliveries/settle            start due retries, wait for deliveries in flight

The user is `user_id` of the body (or query), by default the company's first admin. Errors answer
`{"error": ..., "reason": ...}` with 400 or 404.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.pipedrive.person_events import person_changed, snapshot
from sandbox.pipedrive.person_merge import MergeProblem, delete_person, live, merge_persons
from sandbox.pipedrive.state import SandboxState
from sandbox.pipedrive.webhooks import webhooks_for

DELIVERY_FILTERS = ("company_id", "webhook_id", "entity_id")


class ControlProblem(Exception):
    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status, self.message, self.reason = status, message, reason


def _problem(status: int, message: str, reason: str) -> JSONResponse:
    return JSONResponse({"error": message, "reason": reason}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ControlProblem(400, "the body is not valid JSON", "invalid_json") from exc
    if not isinstance(body, dict):
        raise ControlProblem(400, "the body must be a JSON object", "invalid_body")
    return body


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    ):
        raise ControlProblem(400, f"'{name}' must be a whole number, not {value!r}", f"invalid_{name}")
    return int(value)


def _acting_user(state: SandboxState, company_id: int, raw: Any) -> int:
    users = sorted(state.company_users(company_id), key=lambda u: (not u.is_admin, u.id))
    user_id = _int(raw, "user_id")
    if user_id is None:
        if not users:
            raise ControlProblem(400, f"company {company_id} has no user to act as", "no_user")
        return users[0].id
    if user_id not in {u.id for u in users if u.active}:
        raise ControlProblem(
            404, f"user {user_id} is not an active user of company {company_id}", "unknown_user"
        )
    return user_id


def _contact_items(raw: Any, name: str, label: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ControlProblem(400, f"'{name}' must be a list of values", f"invalid_{name}")
    items: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        value = item.get("value") if isinstance(item, dict) else item
        if not isinstance(value, str) or not value.strip():
            raise ControlProblem(400, f"'{name}' item {index} needs a non-empty value", f"invalid_{name}")
        items.append({"value": value, "primary": index == 0, "label": label})
    return items


def people_routes(state: SandboxState) -> list[BaseRoute]:
    def target(request: Request) -> tuple[int, int]:
        company_id = int(request.path_params["company_id"])
        if company_id not in state.companies:
            raise ControlProblem(404, f"company {company_id} not found", "unknown_company")
        return company_id, int(request.path_params["person_id"])

    async def edit(request: Request) -> Response:
        company_id, person_id = target(request)
        body = await _body(request)
        user_id = _acting_user(state, company_id, body.get("user_id"))
        person = live(state, company_id, person_id)
        if person is None:
            raise ControlProblem(404, f"person {person_id} not found (or deleted)", "unknown_person")
        before = snapshot(state, person)
        if "name" in body:
            name = body["name"]
            if not isinstance(name, str) or not name.strip():
                raise ControlProblem(400, "'name' must be a non-empty string", "invalid_name")
            first, _, last = name.strip().partition(" ")
            person.update(name=name.strip(), first_name=first, last_name=last or None)
        if "phones" in body:
            person["phones"] = _contact_items(body["phones"], "phones", "mobile")
        if "emails" in body:
            person["emails"] = _contact_items(body["emails"], "emails", "work")
        person["update_time"] = state.clock.now()
        person_changed(state, company_id, before, person, user_id, "app")
        return JSONResponse({"id": person_id})

    async def delete(request: Request) -> Response:
        company_id, person_id = target(request)
        body = await _body(request)
        user_id = _acting_user(state, company_id, body.get("user_id", request.query_params.get("user_id")))
        person = live(state, company_id, person_id)
        if person is None:
            raise ControlProblem(404, f"person {person_id} not found (or deleted)", "unknown_person")
        delete_person(state, company_id, person, user_id, "app")
        return JSONResponse({"id": person_id})

    async def merge(request: Request) -> Response:
        company_id, person_id = target(request)
        body = await _body(request)
        user_id = _acting_user(state, company_id, body.get("user_id"))
        merge_with_id = _int(body.get("merge_with_id"), "merge_with_id")
        try:
            survivor, merged = merge_persons(state, company_id, person_id, merge_with_id, user_id, "app")
        except MergeProblem as problem:
            raise ControlProblem(problem.status, problem.message, problem.reason) from problem
        return JSONResponse({"id": survivor["id"], "merged_id": merged["id"]})

    async def deliveries(request: Request) -> Response:
        dispatcher = webhooks_for(state)
        dispatcher.run_due()
        wanted = {name: _int(request.query_params.get(name), name) for name in DELIVERY_FILTERS}
        action = request.query_params.get("action")
        found = [
            d.summary()
            for d in dispatcher.log
            if all(value is None or getattr(d, name) == value for name, value in wanted.items())
            and (not action or d.action == action)
        ]
        return JSONResponse({"deliveries": found, "pending_retries": dispatcher.pending_retries()})

    async def settle(request: Request) -> Response:
        dispatcher = webhooks_for(state)
        await dispatcher.settle()
        return JSONResponse({"settled": True, "pending_retries": dispatcher.pending_retries()})

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except ControlProblem as problem:
                return _problem(problem.status, problem.message, problem.reason)
            return response

        return run

    person_path = "/_sandbox/companies/{company_id:int}/persons/{person_id:int}"
    return [
        Route(person_path, guarded(edit), methods=["PATCH"]),
        Route(person_path, guarded(delete), methods=["DELETE"]),
        Route(f"{person_path}/merge", guarded(merge), methods=["POST"]),
        Route("/_sandbox/webhook-deliveries", guarded(deliveries), methods=["GET"]),
        Route("/_sandbox/webhook-deliveries/settle", guarded(settle), methods=["POST"]),
    ]
