"""The web's one error boundary: a named failure that leaves a route gets the same status on every route,
and reads as its route family says (the error partial, the panel's notice in a named slot, the whole panel
page, JSON for Pipedrive's app notices). Checked on a small app of its own, so each answer is seen whole."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from panels.errors import ErrorView
from server.domain.errors import (
    BudgetExhausted,
    ConfigurationError,
    InvalidInput,
    NeedsReauth,
    NotAuthenticated,
    NotFound,
    NotInstalled,
    NumberNotOnWhatsApp,
    Permanent,
    StorageBusy,
    Transient,
    WaPipeError,
)
from server.services.numbers import NotYours, TooManyPending
from server.web.errors import JSON, Answer, answer_with, error_status, wapipe_error


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotAuthenticated("no token"), 401),
        (NotYours("admins only"), 403),
        (NotInstalled("install first"), 403),
        (NeedsReauth("install again"), 403),
        (NotFound("gone"), 404),
        (TooManyPending("finish those first"), 429),
        (BudgetExhausted("spent"), 429),
        (InvalidInput("bad"), 400),
        (NumberNotOnWhatsApp("no WhatsApp"), 400),
        (Transient("later"), 503),
        (ConfigurationError("set it up"), 503),
        (Permanent("upstream refused"), 502),
    ],
)
def test_each_kind_of_failure_has_one_status(error: WaPipeError, status: int) -> None:
    assert error_status(error) == status


def failing(answer: Answer | None, error: WaPipeError) -> Route:
    async def endpoint(request: Request) -> Response:
        if answer is not None:
            answer_with(request, answer)
        raise error

    return Route("/", endpoint)


async def ask(answer: Answer | None, error: WaPipeError) -> httpx.Response:
    app = Starlette(routes=[failing(answer, error)], exception_handlers={WaPipeError: wapipe_error})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get("/")


async def test_a_page_answers_with_the_error_partial_alone() -> None:
    answer = await ask(Answer(), NotAuthenticated("Open it from Pipedrive.", reason="token_missing"))
    assert answer.status_code == 401
    assert answer.text == (
        '<div class="notice error" role="alert" data-reason="token_missing">\n'
        "  <strong>Open this page from Pipedrive</strong>\n"
        "  <p>Open it from Pipedrive.</p>\n"
        "</div>"
    )
    assert "hx-retarget" not in answer.headers


async def test_a_route_that_says_nothing_answers_like_a_page() -> None:
    answer = await ask(None, NotFound("No such chat <b>", reason="chat_not_found"))
    assert answer.status_code == 404
    assert "<strong>Chat not found</strong>" in answer.text
    assert "<p>No such chat &lt;b&gt;</p>" in answer.text


async def test_a_panel_form_keeps_its_fields_and_gets_the_notice_in_its_slot() -> None:
    slot = Answer(where="panel", notice_slot="panel-form-notice")
    answer = await ask(slot, NotInstalled("Install WaPipe to use the panel."))
    assert answer.status_code == 403
    assert answer.headers["hx-retarget"] == "#panel-form-notice"
    assert answer.headers["hx-reswap"] == "innerHTML"
    assert "<strong>Install WaPipe first</strong>" in answer.text
    assert '<a class="button-link" href="/install" target="_blank" rel="noopener">Install WaPipe</a>' in (
        answer.text
    )
    assert "<main" not in answer.text


async def test_the_panels_first_load_is_the_whole_panel_page_around_the_notice() -> None:
    answer = await ask(Answer(where="panel", whole_panel=True), Transient("Pipedrive is slow."))
    assert answer.status_code == 503
    assert '<main class="panel" id="panel">' in answer.text
    assert "<strong>Something went wrong</strong>" in answer.text
    assert "<p>Pipedrive is slow.</p>" in answer.text


async def test_app_notices_answer_in_json_and_ask_for_basic_credentials() -> None:
    refused = await ask(JSON, NotAuthenticated("Basic auth please", reason="bad_client_credentials"))
    assert refused.status_code == 401
    assert refused.json() == {"error": "bad_client_credentials", "message": "Basic auth please"}
    assert refused.headers["www-authenticate"] == 'Basic realm="wapipe"'
    bad = await ask(JSON, InvalidInput("the body is not JSON", reason="invalid_json"))
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_json", "message": "the body is not JSON"}
    assert "www-authenticate" not in bad.headers


def test_one_catalogue_names_where_the_user_is() -> None:
    assert str(ErrorView("token_expired", "").title) == "This page has been open a long time"
    assert str(ErrorView("token_expired", "", where="panel").title) == "This panel has been open a long time"
    assert str(ErrorView("mystery", "").title) == "Something went wrong"
    assert str(ErrorView("mystery", "", where="install").title) == "WaPipe could not be installed"
    assert (
        str(ErrorView("admin_required", "", where="install").title)
        == "A Pipedrive admin must install WaPipe first"
    )
    advice = "Nothing was sent. Choose a smaller file, or send a link to it instead."
    assert str(ErrorView("attachment_too_large", "", where="panel").hint) == advice
    assert ErrorView("attachment_too_large", "").hint == ""


async def test_a_busy_database_asks_for_a_moment_and_keeps_the_form() -> None:
    slot = Answer(where="panel", notice_slot="panel-form-notice")
    answer = await ask(slot, StorageBusy("The database is busy; trying again in a moment should work."))
    assert answer.status_code == 503
    assert answer.headers["hx-retarget"] == "#panel-form-notice"
    assert 'data-reason="storage_busy"' in answer.text
    assert "<strong>Try again in a moment</strong>" in answer.text
    assert "<p>The database is busy; trying again in a moment should work.</p>" in answer.text
