"""`/_sandbox/...` JSON endpoints: seed, register an app, read back, flip fault switches, move the clock,
reset. Playing a user who edits, deletes or merges Persons, and reading webhook deliveries back, are in
`control_people`."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.pipedrive.host import host_config_for, is_web_url
from sandbox.pipedrive.oauth import oauth_server_for
from sandbox.pipedrive.seed import (
    ALL_SCOPES,
    dump_company,
    seed_custom_field,
    seed_deal,
    seed_demo,
    seed_file,
    seed_person,
    seed_pipeline,
)
from sandbox.pipedrive.state import SandboxState
from sandbox.pipedrive.webhooks import webhooks_for

FAULT_KEYS = ("force_429", "force_5xx", "status_5xx", "cloudflare_403", "latency_ms", "omit_daily_headers")
SETTING_KEYS = ("emit_nulls", "phone_search_ignores_punctuation", "token_ttl_seconds", "base_url")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _client_problem(body: Any) -> str | None:
    """What is wrong with an app to register (``{client_id, client_secret, redirect_uri, scopes?,
    jwt_secret?, name?}``), if anything. Registering a client id again replaces that app."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for key in ("client_id", "client_secret"):
        if not isinstance(body.get(key), str) or not body[key]:
            return f"'{key}' must be a non-empty string"
    if not isinstance(body.get("redirect_uri"), str) or not is_web_url(body["redirect_uri"]):
        return "'redirect_uri' must be an absolute http(s) URL"
    scopes = body.get("scopes", ALL_SCOPES)
    if not isinstance(scopes, list | tuple) or not all(isinstance(s, str) and s for s in scopes):
        return "'scopes' must be a list of scope names"
    if "jwt_secret" in body and (not isinstance(body["jwt_secret"], str) or not body["jwt_secret"]):
        return "'jwt_secret' must be a non-empty string (leave it out to sign with the client secret)"
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
        return "'name' must be a non-empty string (leave it out to show the client id)"
    return None


def control_routes(state: SandboxState) -> list[BaseRoute]:
    def company_id(request: Request) -> int:
        cid = int(request.path_params["company_id"])
        if cid not in state.companies:
            raise KeyError(f"company {cid} not found")
        return cid

    async def reset(request: Request) -> Response:
        """Everything a test or an app left: state, OAuth codes and uninstall notices, host apps, webhook
        deliveries and retries; the clock starts over."""
        state.reset()
        oauth_server_for(state).forget()
        webhooks_for(state).forget()
        host_config_for(state).apps.clear()
        return JSONResponse({"ok": True})

    async def add_client(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        problem = _client_problem(body)
        if problem:
            return JSONResponse({"error": problem}, status_code=400)
        client = state.add_client(
            body["client_id"],
            body["client_secret"],
            body["redirect_uri"],
            list(body.get("scopes", ALL_SCOPES)),
            jwt_secret=body.get("jwt_secret"),
            name=body.get("name"),
        )
        return JSONResponse(
            {
                "client_id": client.client_id,
                "name": client.name,
                "redirect_uri": client.redirect_uri,
                "scopes": client.scopes,
            },
            status_code=201,
        )

    async def dump(request: Request) -> Response:
        return JSONResponse({"companies": [dump_company(state, cid) for cid in sorted(state.companies)]})

    async def demo(request: Request) -> Response:
        world = seed_demo(state)
        return JSONResponse(
            {"companies": [asdict(c) for c in world.companies], "users": [asdict(u) for u in world.users]}
        )

    async def add_company(request: Request) -> Response:
        body = await _body(request)
        company = state.add_company(
            body["name"],
            domain=body.get("domain"),
            plan=body.get("plan", "growth"),
            timezone=body.get("timezone", "Europe/Berlin"),
        )
        return JSONResponse(asdict(company), status_code=201)

    async def company(request: Request) -> Response:
        return JSONResponse(dump_company(state, company_id(request)))

    async def add_user(request: Request) -> Response:
        body = await _body(request)
        user = state.add_user(
            company_id(request),
            body["name"],
            body["email"],
            is_admin=bool(body.get("is_admin", False)),
            timezone_name=body.get("timezone_name"),
            locale=body.get("locale", "en_US"),
        )
        return JSONResponse(asdict(user), status_code=201)

    async def add_token(request: Request) -> Response:
        body = await _body(request)
        scopes = list(body.get("scopes") or ALL_SCOPES)
        token = state.token_for(
            company_id(request), int(body["user_id"]), scopes, body.get("client_id", "sandbox")
        )
        return JSONResponse({"access_token": token, "scopes": scopes}, status_code=201)

    async def add_person(request: Request) -> Response:
        body = await _body(request)
        person = seed_person(
            state,
            company_id(request),
            body["name"],
            phones=body.get("phones", []),
            emails=body.get("emails", []),
            owner_id=body.get("owner_id"),
            custom_fields=body.get("custom_fields"),
        )
        return JSONResponse({"id": person["id"]}, status_code=201)

    async def add_deal(request: Request) -> Response:
        body = await _body(request)
        deal = seed_deal(
            state,
            company_id(request),
            body["title"],
            person_id=body.get("person_id"),
            stage_id=body.get("stage_id"),
            status=body.get("status", "open"),
            is_archived=bool(body.get("is_archived", False)),
        )
        return JSONResponse({"id": deal["id"]}, status_code=201)

    async def add_pipeline(request: Request) -> Response:
        body = await _body(request)
        pipeline_id = seed_pipeline(state, company_id(request), body["name"], body.get("stages", ["Stage 1"]))
        return JSONResponse({"id": pipeline_id}, status_code=201)

    async def add_field(request: Request) -> Response:
        body = await _body(request)
        record = seed_custom_field(
            state,
            company_id(request),
            body.get("entity", "person"),
            body["name"],
            body.get("field_type", "varchar"),
        )
        return JSONResponse({"id": record["id"], "key": record["key"]}, status_code=201)

    async def add_file(request: Request) -> Response:
        body = await _body(request)
        record = seed_file(
            state,
            company_id(request),
            body["name"],
            base64.b64decode(body.get("content_base64", "")),
            person_id=body.get("person_id"),
            deal_id=body.get("deal_id"),
            content_type=body.get("content_type"),
        )
        return JSONResponse({"id": record["id"]}, status_code=201)

    async def budget(request: Request) -> Response:
        """Set the company's daily budget (`tokens`), the UTC hour its budget day starts (`reset_hour`,
        0-23), or spend it (`exhaust`); answers the usage of the current budget day and the reset hour."""
        body = await _body(request)
        cid = company_id(request)
        if "reset_hour" in body:
            hour = body["reset_hour"]
            if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
                return JSONResponse(
                    {
                        "error": f"'reset_hour' must be an hour of the day, 0 to 23 (UTC), not {hour!r}",
                        "reason": "invalid_reset_hour",
                    },
                    status_code=400,
                )
            state.limiter.set_reset_hour(cid, hour)
        if "tokens" in body:
            state.limiter.set_daily_budget(cid, int(body["tokens"]))
        if body.get("exhaust"):
            company = state.companies[cid]
            seats = len(state.company_users(cid))
            state.limiter.exhaust_budget(cid, state.limiter.daily_budget(cid, company.plan, seats))
        usage = asdict(state.limiter.usage_for(cid))
        reset_hour = state.limiter.reset_hours.get(cid, 0)
        return JSONResponse({**usage, "day": usage["day"].isoformat(), "reset_hour": reset_hour})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            for key in FAULT_KEYS:
                if key in body:
                    setattr(state.limiter.faults, key, int(body[key]))
        return JSONResponse(asdict(state.limiter.faults))

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            if "set" in body:
                state.clock.set(datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")))
            if "advance_seconds" in body:
                state.clock.advance(float(body["advance_seconds"]))
        return JSONResponse({"now": state.rfc3339()})

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            for key in SETTING_KEYS:
                if key in body:
                    setattr(state, key, body[key])
        return JSONResponse({key: getattr(state, key) for key in SETTING_KEYS})

    return [
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/state", dump, methods=["GET"]),
        Route("/_sandbox/seed/demo", demo, methods=["POST"]),
        Route("/_sandbox/clients", add_client, methods=["POST"]),
        Route("/_sandbox/companies", add_company, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}", company, methods=["GET"]),
        Route("/_sandbox/companies/{company_id:int}/users", add_user, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/tokens", add_token, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/persons", add_person, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/deals", add_deal, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/pipelines", add_pipeline, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/fields", add_field, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/files", add_file, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/budget", budget, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
        Route("/_sandbox/settings", settings, methods=["GET", "POST"]),
    ]
