"""Every query scoped by company: company A's credentials against company B's ids get 403/404 (or a page
that shows nothing of B) and change nothing of B, on every route and every job that takes ids.

The tables below are the contract. ``ROUTE_PROBES`` has an entry for every route of the app (read from
``app.routes``, like the route fuzzer), and ``JOB_PROBES`` / ``JOBS_WITHOUT_IDS`` one for every job the
worker registers: a new route or job fails ``test_every_route_and_job_is_in_the_tenancy_table`` until it
gets a probe here.

Pipedrive numbers records per company, so A and B both have a Person 1 (A's Maria, B's Sam): probes
name B's records by ids A does not use (``unshared_person_id``, B's Deal, File and pipeline), and A's
pages for its own Person 1 must show nothing of B's Person 1.

"Nothing of B changed" is a snapshot (``tests/security/world.py``) of every table's rows that belong to B,
B's attachment files, B's data in the Pipedrive sandbox (API usage included: a request with B's token
would change it) and what B's WhatsApp session sent, compared after every probe.

Jobs take no company argument: each one derives the company from the row its id names (an event's
session, an account, a chat, an outbox row), and writes with that company's own installation. So "a job
of A's with B's ids" means two honest checks:

- run again with B's ids, on B's data that is already settled, the job changes nothing: neither A's
  snapshot nor B's (a job that redid B's work, say sent B's message again, shows in B's);
- where one of A's rows can carry an id of B's (an outbox row naming B's number or B's Pipedrive file, a
  chat link naming B's Person), the job running for A leaves B's snapshot unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import SQLModel
from starlette.routing import Mount, Route

from server.jobs.functions import CRON_JOBS, FUNCTIONS, WORKER_CRON_JOBS
from server.services.catch_up import CatchUpChain
from server.settings import Settings
from server.transports import CLOUD_WEBHOOK_PATH, WAHA_WEBHOOK_PATH
from server.web.app import create_app
from server.web.panel_context import media_link
from tests.security.conftest import METRICS_TOKEN
from tests.security.world import PNG, TenancyWorld, Tenant, differences
from tests.world import CLIENT_ID, world_settings_overrides

# The module's tests share one world per backend (tests/security/conftest.py), on its event loop.
shares_the_world = pytest.mark.asyncio(loop_scope="module")

SKIP_METHODS = {"HEAD", "OPTIONS"}
REFUSED = (403, 404)


@dataclass
class Attack:
    """Company A's admin with every credential A has, aiming at company B's ids."""

    world: TenancyWorld
    a: Tenant
    b: Tenant
    session: httpx.AsyncClient  # signed in to the chat view as A's admin
    csrf: str  # a valid CSRF token of A's admin

    async def frame(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request from inside Pipedrive's iframe, with A's signed token."""
        headers = {**self.world.headers(self.a), **kwargs.pop("headers", {})}
        return await self.world.client.request(method, path, headers=headers, **kwargs)

    def refused(self, response: httpx.Response, *allowed: int) -> None:
        expected = allowed or REFUSED
        assert response.status_code in expected, (
            response.request.url,
            response.status_code,
            response.text[:500],
        )
        self.nothing_of_b(response)

    def nothing_of_b(self, response: httpx.Response, *typed: str) -> None:
        """The response shows no data of B (``typed``: what A typed into the request, echoed back)."""
        body = response.text
        for marker in self.b.markers:
            if marker not in typed:
                assert marker not in body, (response.request.url, marker, body[:2000])


Probe = Callable[[Attack], Awaitable[None]]
ROUTE_PROBES: dict[tuple[str, str], Probe] = {}


def probe(method: str, path: str) -> Callable[[Probe], Probe]:
    def register(function: Probe) -> Probe:
        ROUTE_PROBES[(method, path)] = function
        return function

    return register


# --- status pages and webhooks: no company in the request; authenticated by the gateway, not the user ---


@probe("GET", "/")
@probe("GET", "/status")
@probe("GET", "/healthz")
@probe("GET", "/healthz/workers")
async def _status(attack: Attack) -> None:
    for path in ("/", "/status", "/healthz", "/healthz/workers"):
        answer = await attack.frame("GET", path, params={"companyId": attack.b.pipedrive_company_id})
        assert answer.status_code == 200, answer.text
        attack.nothing_of_b(answer)


@probe("GET", "/metrics")
async def _metrics(attack: Attack) -> None:
    """The operator's counts: A's credentials (its panel token as the bearer, its signed-in session) are
    not the metrics token; with the token, the scrape names companies by WaPipe's ids only, nothing either
    company typed or is called."""
    attack.refused(await attack.frame("GET", "/metrics"), 401)
    panel_token = attack.world.token(attack.a)
    as_bearer = {"Authorization": f"Bearer {panel_token}"}
    attack.refused(await attack.world.client.get("/metrics", headers=as_bearer), 403)
    attack.refused(await attack.session.get("/metrics"), 401)
    scrape = await attack.world.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200, scrape.text
    attack.nothing_of_b(scrape)
    for marker in (*attack.a.markers, attack.a.contact_phone.lstrip("+"), attack.b.contact_phone.lstrip("+")):
        assert marker not in scrape.text, marker
    companies = {
        sample.labels["company"]
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
        if "company" in sample.labels
    }
    assert companies <= {str(attack.a.company_id), str(attack.b.company_id)}, companies


@probe("POST", WAHA_WEBHOOK_PATH)
async def _waha_webhook(attack: Attack) -> None:
    # A forged delivery for B's session, with A's Pipedrive token instead of the gateway's HMAC.
    body = {
        "id": "evt_forged",
        "event": "message",
        "session": attack.b.session,
        "payload": {"id": "false_1@c.us_FORGED", "from": "1@c.us", "body": "forged", "fromMe": False},
    }
    attack.refused(await attack.frame("POST", WAHA_WEBHOOK_PATH, json=body), 401)


@probe("POST", "/webhooks/pipedrive")
async def _pipedrive_webhook(attack: Attack) -> None:
    """A's Basic credentials (derived as Pipedrive holds them for A) on a delivery naming B's company, and
    A's Pipedrive token instead of credentials: refused, nothing of B touched."""
    secret = attack.world.base.resources.settings.secret_key.get_secret_value()
    a_company = attack.a.pipedrive_company_id
    a_password = hmac.new(
        secret.encode(), f"pipedrive-webhook:{a_company}".encode(), hashlib.sha256
    ).hexdigest()
    body = {
        "meta": {
            "action": "delete",
            "entity": "person",
            "entity_id": attack.b.person_id,
            "company_id": attack.b.pipedrive_company_id,
            "id": "forged-delivery-1",
            "version": "2.0",
        },
        "data": None,
        "previous": None,
    }
    basic = base64.b64encode(f"wapipe:{a_password}".encode()).decode()
    attack.refused(
        await attack.world.client.post(
            "/webhooks/pipedrive", json=body, headers={"authorization": f"Basic {basic}"}
        ),
        401,
    )
    attack.refused(await attack.frame("POST", "/webhooks/pipedrive", json=body), 401)
    # The same credentials on A's own delivery are taken: the refusal above is about the company.
    own = {**body, "meta": {**body["meta"], "company_id": a_company, "id": "own-delivery-1"}}
    taken = await attack.world.client.post(
        "/webhooks/pipedrive", json=own, headers={"authorization": f"Basic {basic}"}
    )
    assert taken.status_code == 200, taken.text


@probe("GET", CLOUD_WEBHOOK_PATH)
@probe("POST", CLOUD_WEBHOOK_PATH)
async def _cloud_webhook(attack: Attack) -> None:
    attack.refused(
        await attack.frame("GET", CLOUD_WEBHOOK_PATH, params={"hub.mode": "subscribe"}), 401, 403, 404
    )
    attack.refused(await attack.frame("POST", CLOUD_WEBHOOK_PATH, json={"entry": []}), 401, 404)


# --- the numbers page ------------------------------------------------------------------------------------


@probe("GET", "/numbers")
@probe("GET", "/numbers/list")
async def _numbers(attack: Attack) -> None:
    for path in ("/numbers", "/numbers/list"):
        answer = await attack.frame("GET", path, params={"companyId": attack.b.pipedrive_company_id})
        assert answer.status_code == 200 and attack.a.number[-4:] in answer.text, answer.text
        attack.nothing_of_b(answer)


@probe("POST", "/numbers")
async def _link_number(attack: Attack) -> None:
    # Linking takes no id: the new number is A's, whatever the form claims.
    answer = await attack.frame(
        "POST",
        "/numbers",
        data={"company_id": str(attack.b.company_id), "account_id": str(attack.b.account_id)},
    )
    assert answer.status_code == 200, answer.text
    attack.nothing_of_b(answer)


@probe("POST", "/numbers/cloud")
async def _link_cloud_number(attack: Attack) -> None:
    # B's session name as the phone number id, B's company in the form: refused (the Cloud API is not
    # configured in this world; where it is, the id names a number Meta knows for this server's token).
    answer = await attack.frame(
        "POST",
        "/numbers/cloud",
        data={"phone_number_id": attack.b.session, "company_id": str(attack.b.company_id)},
    )
    attack.refused(answer, 400)


@probe("GET", "/numbers/{account_id:id}/pairing")
async def _pairing(attack: Attack) -> None:
    attack.refused(await attack.frame("GET", f"/numbers/{attack.b.account_id}/pairing"))


@probe("POST", "/numbers/{account_id:id}/pairing-code")
async def _pairing_code(attack: Attack) -> None:
    # B's number, with B's own number typed: refused before WhatsApp is asked for anything of B's.
    path = f"/numbers/{attack.b.account_id}/pairing-code"
    attack.refused(await attack.frame("POST", path, data={"phone": "+" + attack.b.number.lstrip("+")}))


@probe("POST", "/numbers/{account_id:id}/unlink")
async def _unlink(attack: Attack) -> None:
    attack.refused(await attack.frame("POST", f"/numbers/{attack.b.account_id}/unlink"))


# --- the panel -------------------------------------------------------------------------------------------


@probe("GET", "/panel")
async def _panel(attack: Attack) -> None:
    a, b = attack.a, attack.b
    attack.refused(
        await attack.frame(
            "GET", "/panel", params={"resource": "person", "selectedIds": b.unshared_person_id}
        )
    )
    # B's chat is with B's Person 1; A's own Person 1 is Maria: her panel shows nothing of B's.
    assert a.person_id == b.person_id
    shared = await attack.frame("GET", "/panel", params={"resource": "person", "selectedIds": a.person_id})
    assert shared.status_code == 200 and "Maria Kunde" in shared.text, shared.text
    attack.nothing_of_b(shared)
    attack.refused(await attack.frame("GET", "/panel", params={"resource": "deal", "selectedIds": b.deal_id}))
    # A's own Person who has B's customer's phone: A's panel must not find B's chat with that number.
    lookalike = await attack.frame(
        "GET", "/panel", params={"resource": "person", "selectedIds": a.lookalike_person_id}
    )
    assert lookalike.status_code == 200 and "Lookalike Larry" in lookalike.text, lookalike.text
    attack.nothing_of_b(lookalike, "+14155550132")
    assert f"/chats/{b.chat_id}" not in lookalike.text


@probe("GET", "/panel/messages")
async def _panel_messages(attack: Attack) -> None:
    a, b = attack.a, attack.b
    attack.refused(await attack.frame("GET", "/panel/messages", params={"person_id": b.unshared_person_id}))
    # A's Person 1 has the id of B's Person 1, whom B wrote to: A sees its own messages, none of B's.
    assert a.person_id == b.person_id
    shared = await attack.frame("GET", "/panel/messages", params={"person_id": a.person_id})
    assert shared.status_code == 200 and f"{a.secret} reply" in shared.text, shared.text
    attack.nothing_of_b(shared)
    attack.refused(await attack.frame("GET", "/panel/messages", params={"deal_id": b.deal_id}))
    lookalike = await attack.frame("GET", "/panel/messages", params={"person_id": a.lookalike_person_id})
    assert lookalike.status_code in (200, 204), lookalike.text
    attack.nothing_of_b(lookalike, "+14155550132")


@probe("GET", "/panel/media/{message_id:id}")
async def _panel_media(attack: Attack) -> None:
    resources = attack.world.base.resources
    a, b = attack.a, attack.b
    # A link WaPipe signed for company A, naming B's attachment.
    for message_id in (b.media_message_id, b.document_message_id):
        link = media_link(resources, a.company_id, message_id)
        answer = await attack.world.client.get(link)
        assert answer.status_code == 404 and PNG not in answer.content, (link, answer.status_code)
    # A's own link with B's company swapped in: the signature no longer holds.
    own = media_link(resources, a.company_id, a.media_message_id)
    assert (await attack.world.client.get(own)).status_code == 200
    swapped = own.replace(f"c={a.company_id}&", f"c={b.company_id}&")
    assert (await attack.world.client.get(swapped)).status_code == 403


@probe("POST", "/panel/send")
async def _panel_send(attack: Attack) -> None:
    a, b = attack.a, attack.b

    def form(**values: object) -> dict[str, str]:
        base = {
            "person_id": a.person_id,
            "to": a.contact_phone,
            "account_id": a.account_id,
            "text": "cross-company send",
            "client_ref": f"attack-{time.monotonic_ns()}",
        }
        base.update(values)
        return {key: str(value) for key, value in base.items()}

    # B's Person, B's Deal: not in A's Pipedrive.
    attack.refused(
        await attack.frame(
            "POST", "/panel/send", data=form(person_id=b.unshared_person_id, to=b.contact_phone)
        )
    )
    attack.refused(await attack.frame("POST", "/panel/send", data=form(person_id="", deal_id=b.deal_id)))
    # A's Person, sent from B's WhatsApp number.
    from_b = await attack.frame("POST", "/panel/send", data=form(account_id=b.account_id))
    attack.refused(from_b, 400, 404)
    assert 'data-reason="unknown_from_number"' in from_b.text, from_b.text
    # A's Person, with B's Pipedrive file attached.
    with_b_file = await attack.frame("POST", "/panel/send", data=form(file_id=b.file_id))
    attack.refused(with_b_file, 404)
    assert 'data-reason="attachment_missing"' in with_b_file.text, with_b_file.text


@probe("POST", "/panel/relink")
async def _panel_relink(attack: Attack) -> None:
    a, b = attack.a, attack.b
    attack.refused(
        await attack.frame("POST", "/panel/relink", data={"chat_id": b.chat_id, "person_id": a.person_id})
    )
    attack.refused(
        await attack.frame(
            "POST", "/panel/relink", data={"chat_id": b.group_chat_id, "person_id": a.person_id}
        )
    )
    # A's chat linked to B's Person: B's Person is not in A's Pipedrive.
    to_b = await attack.frame(
        "POST", "/panel/relink", data={"chat_id": a.chat_id, "person_id": b.unshared_person_id}
    )
    attack.refused(to_b, 400)
    assert 'data-reason="invalid_person"' in to_b.text, to_b.text


@contextlib.asynccontextmanager
async def b_shares_a_contact(attack: Attack) -> AsyncIterator[int]:
    """B's text message carries a shared contact card (a number no Person has) while the probe runs; its
    details are put back after, so B's snapshot is as before."""
    messages = SQLModel.metadata.tables["message"]
    card = {"kind": "contacts", "cards": [{"name": f"{attack.b.secret} card", "phones": ["+4917099988877"]}]}
    where = messages.c.id == attack.b.message_id
    async with attack.world.engine.begin() as connection:
        await connection.execute(sa.update(messages).where(where).values(details=json.dumps(card)))
    try:
        yield attack.b.message_id
    finally:
        async with attack.world.engine.begin() as connection:
            await connection.execute(sa.update(messages).where(where).values(details=""))


@probe("POST", "/panel/contacts/person")
async def _panel_card_person(attack: Attack) -> None:
    async with b_shares_a_contact(attack) as message_id:
        form = {"message_id": str(message_id), "card": "0", "number": "0"}
        answer = await attack.frame("POST", "/panel/contacts/person", data=form)
    attack.refused(answer, 404)
    assert 'data-reason="card_not_found"' in answer.text, answer.text


@probe("GET", "/chats/{chat_id:id}/contacts/{message_id:id}")
async def _chat_cards(attack: Attack) -> None:
    a, b = attack.a, attack.b
    async with b_shares_a_contact(attack) as message_id:
        for chat_id in (b.chat_id, a.chat_id):  # B's chat; A's own chat naming B's message
            attack.refused(await attack.session.get(f"/chats/{chat_id}/contacts/{message_id}"))


@probe("POST", "/chats/{chat_id:id}/contacts/person")
async def _chat_card_person(attack: Attack) -> None:
    a, b = attack.a, attack.b
    async with b_shares_a_contact(attack) as message_id:
        for chat_id in (b.chat_id, a.chat_id):
            form = {"message_id": str(message_id), "card": "0", "number": "0", "csrf_token": attack.csrf}
            attack.refused(await attack.session.post(f"/chats/{chat_id}/contacts/person", data=form))


@probe("POST", "/panel/pin")
async def _panel_pin(attack: Attack) -> None:
    a, b = attack.a, attack.b
    attack.refused(
        await attack.frame("POST", "/panel/pin", data={"chat_id": b.chat_id, "deal_id": a.deal_id})
    )
    attack.refused(await attack.frame("POST", "/panel/pin", data={"chat_id": b.chat_id, "unpin": "1"}))
    to_b = await attack.frame("POST", "/panel/pin", data={"chat_id": a.chat_id, "deal_id": b.deal_id})
    attack.refused(to_b, 400)
    assert 'data-reason="invalid_deal"' in to_b.text, to_b.text


@probe("GET", "/panel/files")
async def _panel_files(attack: Attack) -> None:
    a, b = attack.a, attack.b
    attack.refused(await attack.frame("GET", "/panel/files", params={"person_id": b.unshared_person_id}))
    attack.refused(await attack.frame("GET", "/panel/files", params={"deal_id": b.deal_id}))
    own = await attack.frame("GET", "/panel/files", params={"person_id": a.person_id, "file_id": b.file_id})
    assert own.status_code == 200 and "selected" not in own.text, own.text
    attack.nothing_of_b(own)


@probe("GET", "/panel/search")
async def _panel_search(attack: Attack) -> None:
    # A's Pipedrive token searches A's Pipedrive: B's secret and B's customer's number find nothing of B
    # (four searches: within Pipedrive's 10 per 2 seconds).
    for term in (attack.b.secret, attack.b.contact_phone):
        for what in ("person", "deal"):
            found = await attack.frame("GET", "/panel/search", params={"what": what, what: term})
            assert found.status_code == 200, found.text
            attack.nothing_of_b(found, term)


@probe("GET", "/panel/form")
async def _retry_form(attack: Attack) -> None:
    # B's failed-or-sent outbox entry, loaded back into A's send form.
    params = {"retry": str(attack.b.outbox_id), "person_id": str(attack.a.person_id)}
    attack.refused(await attack.frame("GET", "/panel/form", params=params), 404)
    params = {"retry": str(attack.b.outbox_id), "person_id": str(attack.a.lookalike_person_id)}
    attack.refused(await attack.frame("GET", "/panel/form", params=params), 404)


# --- the settings page -----------------------------------------------------------------------------------


@probe("GET", "/settings")
async def _settings(attack: Attack) -> None:
    answer = await attack.frame("GET", "/settings", params={"companyId": attack.b.pipedrive_company_id})
    assert answer.status_code == 200 and "Anna Admin" in answer.text, answer.text
    attack.nothing_of_b(answer)


@probe("POST", "/settings")
async def _save_settings(attack: Attack) -> None:
    # B's pipeline is not one of A's: refused as an unknown choice.
    typed = {
        "import_frequency": "realtime",
        "new_chat_action": "deal",
        "pipeline_id": str(attack.b.pipeline_id),
        "company_id": str(attack.b.company_id),
    }
    attack.refused(await attack.frame("POST", "/settings", data=typed), 400)


@probe("GET", "/settings/pipeline")
async def _pipeline_slot(attack: Attack) -> None:
    params = {"new_chat_action": "deal", "pipeline_id": str(attack.b.pipeline_id)}
    answer = await attack.frame("GET", "/settings/pipeline", params=params)
    assert answer.status_code == 200 and "Acme pipeline" in answer.text, answer.text
    attack.nothing_of_b(answer)


@probe("GET", "/settings/audit")
async def _audit(attack: Attack) -> None:
    answer = await attack.frame("GET", "/settings/audit", params={"companyId": attack.b.pipedrive_company_id})
    assert answer.status_code == 200 and "+4930901820" in answer.text, answer.text
    attack.nothing_of_b(answer)
    assert "+12125550199" not in answer.text  # B's exclusion, in B's audit log


@probe("POST", "/settings/exclusions")
async def _exclusions(attack: Attack) -> None:
    for chat_id, excluded in ((attack.b.chat_id, "1"), (attack.b.group_chat_id, "0")):
        answer = await attack.frame(
            "POST", "/settings/exclusions", data={"chat_id": chat_id, "excluded": excluded}
        )
        attack.refused(answer, 404)


@probe("POST", "/settings/preview")
async def _preview(attack: Attack) -> None:
    typed = f"{attack.b.contact_phone}\n+{attack.b.number}"
    answer = await attack.frame("POST", "/settings/preview", data={"numbers": typed})
    assert answer.status_code == 200, answer.text
    assert "Lookalike Larry" in answer.text  # A's own Person with that phone
    attack.nothing_of_b(answer, "+14155550132", "+14155550100")


@probe("GET", "/settings/recheck")
async def _recheck(attack: Attack) -> None:
    params = {"companyId": attack.b.pipedrive_company_id, "company_id": str(attack.b.company_id)}
    answer = await attack.frame("GET", "/settings/recheck", params=params)
    assert answer.status_code == 200 and 'id="recheck"' in answer.text, answer.text
    attack.nothing_of_b(answer)


async def _recheck_answer(attack: Attack, path: str) -> None:
    a, b = attack.a, attack.b
    # B's chats, named with B's Person: not A's chats.
    for chat_id in (b.chat_id, b.group_chat_id):
        answer = await attack.frame("POST", path, data={"chat_id": chat_id, "person_id": b.person_id})
        attack.refused(answer, 404)
        assert 'data-reason="chat_not_found"' in answer.text, answer.text
    # A's chat, said to be linked to B's Person: it is not, so nothing is decided.
    to_b = await attack.frame("POST", path, data={"chat_id": a.chat_id, "person_id": b.unshared_person_id})
    attack.refused(to_b, 409)
    assert 'data-reason="link_changed"' in to_b.text, to_b.text


@probe("POST", "/settings/recheck/keep")
async def _recheck_keep(attack: Attack) -> None:
    await _recheck_answer(attack, "/settings/recheck/keep")


@probe("POST", "/settings/recheck/relink")
async def _recheck_relink(attack: Attack) -> None:
    await _recheck_answer(attack, "/settings/recheck/relink")


@probe("GET", "/settings/erase")
async def _erase_form(attack: Attack) -> None:
    answer = await attack.frame("GET", "/settings/erase", params={"company_id": str(attack.b.company_id)})
    assert answer.status_code == 200, answer.text
    attack.nothing_of_b(answer)


@probe("POST", "/settings/erase")
async def _erase(attack: Attack) -> None:
    # B's customer's number and B's own number, erased by A's admin: a dry run, then confirmed.
    for phone in (attack.b.contact_phone, "+" + attack.b.number):
        for confirm in ("", "yes"):
            data = {"phone": phone, "confirm": confirm, "company_id": str(attack.b.company_id)}
            answer = await attack.frame("POST", "/settings/erase", data=data)
            assert answer.status_code == 200, answer.text
            attack.nothing_of_b(answer, "+14155550132", "+14155550100")


# --- the campaign pages (Pipedrive token) ------------------------------------------------------------------


async def campaign_of(attack: Attack) -> int:
    """B's draft campaign (``tests/security/world.py`` makes one per company)."""
    table = SQLModel.metadata.tables["campaign"]
    query = sa.select(table.c.id).where(table.c.company_id == attack.b.company_id).limit(1)
    async with attack.world.base.resources.engine.connect() as connection:
        found = (await connection.execute(query)).scalar()
    assert found is not None, "company B has no campaign to aim at"
    return int(found)


@probe("GET", "/campaigns")
@probe("GET", "/campaigns/modal")
@probe("POST", "/campaigns/modal/source")
@probe("POST", "/campaigns/stop-words")
async def _campaign_pages(attack: Attack) -> None:
    page = await attack.frame("GET", "/campaigns", params={"companyId": attack.b.pipedrive_company_id})
    assert page.status_code == 200, page.text
    attack.nothing_of_b(page)
    selection = {"resource": "person", "selectedIds": str(attack.b.unshared_person_id)}
    modal = await attack.frame("GET", "/campaigns/modal", params=selection)
    assert modal.status_code == 200, modal.text
    attack.nothing_of_b(modal)
    # B's Person id as A's selection: Pipedrive answers for A's company, which has no such Person.
    created = await attack.frame("POST", "/campaigns/modal/source", data=selection)
    attack.nothing_of_b(created)
    saved = await attack.frame("POST", "/campaigns/stop-words", data={"words": "HALT", "company_id": "2"})
    assert saved.status_code == 200, saved.text
    attack.nothing_of_b(saved)


@probe("GET", "/campaigns/template")
async def _campaign_template(attack: Attack) -> None:
    answer = await attack.frame(
        "GET", "/campaigns/template", params={"template_id": str(attack.b.template_id)}
    )
    attack.refused(answer, 404)
    assert 'data-reason="template_not_found"' in answer.text, answer.text
    own = await attack.frame("GET", "/campaigns/template", params={"template_id": str(attack.a.template_id)})
    assert own.status_code == 200 and attack.a.secret in own.text, own.text
    attack.nothing_of_b(own)
    # An approved template from B's number (its mapping holds B's secret): B's number is not A's.
    approved = {"template_id": "cloud:order_update:en_US", "account_ids": str(attack.b.account_id)}
    answer = await attack.frame("GET", "/campaigns/template", params=approved)
    assert answer.status_code == 200, answer.text
    assert 'data-reason="template_needs_cloud_number"' in answer.text, answer.text
    attack.nothing_of_b(answer)


@probe("GET", "/campaigns/templates")
async def _campaign_template_choices(attack: Attack) -> None:
    params = {"account_ids": str(attack.b.account_id), "approved_template": "order_update:en_US"}
    answer = await attack.frame("GET", "/campaigns/templates", params=params)
    assert answer.status_code == 200, answer.text
    assert 'data-group="cloud"' not in answer.text and attack.a.secret in answer.text  # A's own templates
    assert 'name="approved_template" value=""' in answer.text
    attack.nothing_of_b(answer)


@probe("GET", "/campaigns/{campaign_id:id}")
@probe("GET", "/campaigns/{campaign_id:id}/progress")
@probe("GET", "/campaigns/{campaign_id:id}/results.csv")
@probe("POST", "/campaigns/{campaign_id:id}/preview")
@probe("POST", "/campaigns/{campaign_id:id}/start")
@probe("POST", "/campaigns/{campaign_id:id}/pause")
@probe("POST", "/campaigns/{campaign_id:id}/resume")
@probe("POST", "/campaigns/{campaign_id:id}/cancel")
async def _campaign(attack: Attack) -> None:
    campaign = await campaign_of(attack)
    typed = {
        "text": "Hallo",
        "from_mode": "fixed",
        "account_ids": [str(attack.a.account_id)],
        **{"min_gap": "0", "max_gap": "0", "daily_cap": "0", "quiet_start": "00:00", "quiet_end": "00:00"},
    }
    for method, tail in (
        ("GET", ""),
        ("GET", "/progress"),
        ("GET", "/results.csv"),
        ("POST", "/preview"),
        ("POST", "/start"),
        ("POST", "/pause"),
        ("POST", "/resume"),
        ("POST", "/cancel"),
    ):
        data = typed if method == "POST" else None
        attack.refused(await attack.frame(method, f"/campaigns/{campaign}{tail}", data=data), 404)


# --- message templates: the templates page (the frame's token) and the pickers -------------------------


@probe("GET", "/settings/templates")
async def _templates_page(attack: Attack) -> None:
    own = await attack.frame("GET", "/settings/templates")
    assert own.status_code == 200 and attack.a.secret in own.text, own.text
    attack.nothing_of_b(own)


@probe("GET", "/settings/templates/form")
async def _template_form(attack: Attack) -> None:
    answer = await attack.frame("GET", "/settings/templates/form", params={"id": str(attack.b.template_id)})
    attack.refused(answer, 404)
    assert 'data-reason="template_not_found"' in answer.text, answer.text


@probe("POST", "/settings/templates")
async def _template_save(attack: Attack) -> None:
    data = {"id": str(attack.b.template_id), "scope": "company", "name": "taken over", "text": "x"}
    answer = await attack.frame("POST", "/settings/templates", data=data)
    attack.refused(answer, 404)
    assert 'data-reason="template_not_found"' in answer.text, answer.text
    # A's own template, with B's Pipedrive file as its attachment: A's Pipedrive has no such file.
    data = {"scope": "personal", "name": "mine", "text": "x", "file_id": str(attack.b.file_id)}
    attack.refused(await attack.frame("POST", "/settings/templates", data=data), 404)


@probe("POST", "/settings/templates/delete")
async def _template_delete(attack: Attack) -> None:
    answer = await attack.frame("POST", "/settings/templates/delete", data={"id": str(attack.b.template_id)})
    attack.refused(answer, 404)


# --- WhatsApp-approved templates (Cloud API numbers): A has none, B's mapping names B's secret ------------


@probe("GET", "/settings/cloud-templates")
async def _cloud_templates(attack: Attack) -> None:
    params = {"company_id": str(attack.b.company_id), "account_id": str(attack.b.account_id)}
    answer = await attack.frame("GET", "/settings/cloud-templates", params=params)
    assert answer.status_code == 200 and 'data-reason="no_cloud_number"' in answer.text, answer.text
    attack.nothing_of_b(answer)


@probe("POST", "/settings/cloud-templates")
async def _cloud_template_save(attack: Attack) -> None:
    data = {
        "template": "order_update:en_US",
        "var:1": "person.name",
        "var:2": "me.name",
        "company_id": str(attack.b.company_id),
        "account_id": str(attack.b.account_id),
    }
    answer = await attack.frame("POST", "/settings/cloud-templates", data=data)
    attack.refused(answer, 400)
    assert 'data-reason="no_cloud_number"' in answer.text, answer.text


@probe("GET", "/panel/templates")
async def _panel_templates(attack: Attack) -> None:
    own = await attack.frame("GET", "/panel/templates", params={"account_id": str(attack.b.account_id)})
    assert own.status_code == 200 and attack.a.secret in own.text, own.text
    attack.nothing_of_b(own)


@probe("GET", "/panel/templates/render")
async def _panel_template_render(attack: Attack) -> None:
    a, b = attack.a, attack.b
    theirs = {"template": f"saved:{b.template_id}", "person_id": str(a.person_id)}
    attack.refused(await attack.frame("GET", "/panel/templates/render", params=theirs), 404)
    mine = {"template": f"saved:{a.template_id}", "person_id": str(b.unshared_person_id)}
    attack.refused(await attack.frame("GET", "/panel/templates/render", params=mine), 404)
    from_b = {
        "template": f"saved:{a.template_id}",
        "person_id": str(a.person_id),
        "account_id": str(b.account_id),
    }
    own = await attack.frame("GET", "/panel/templates/render", params=from_b)  # B's number as From
    assert own.status_code == 200 and a.secret in own.text, own.text
    attack.nothing_of_b(own)


@probe("GET", "/chats/{chat_id:id}/templates")
async def _chat_templates(attack: Attack) -> None:
    attack.refused(await attack.session.get(f"/chats/{attack.b.chat_id}/templates"), 403)
    own = await attack.session.get(f"/chats/{attack.a.chat_id}/templates")
    assert own.status_code == 200 and attack.a.secret in own.text, own.text
    attack.nothing_of_b(own)


@probe("GET", "/chats/{chat_id:id}/templates/render")
async def _chat_template_render(attack: Attack) -> None:
    a, b = attack.a, attack.b
    mine, theirs = {"template": f"saved:{a.template_id}"}, {"template": f"saved:{b.template_id}"}
    attack.refused(await attack.session.get(f"/chats/{b.chat_id}/templates/render", params=mine), 403)
    attack.refused(await attack.session.get(f"/chats/{a.chat_id}/templates/render", params=theirs), 404)


# --- the chat view (session cookie + CSRF) ---------------------------------------------------------------


@probe("GET", "/signin")
async def _signin(attack: Attack) -> None:
    answer = await attack.session.get("/signin", params={"next": f"/chats/{attack.b.chat_id}"})
    assert answer.status_code == 302 and answer.headers["location"].startswith(
        "http://pipedrive.sandbox/oauth/"
    )
    attack.nothing_of_b(answer)


@probe("GET", "/chats/{chat_id:id}")
async def _chat_page(attack: Attack) -> None:
    for chat_id in (attack.b.chat_id, attack.b.group_chat_id):
        attack.refused(await attack.session.get(f"/chats/{chat_id}"), 403)
    own = await attack.session.get(f"/chats/{attack.a.chat_id}")
    assert own.status_code == 200 and attack.a.secret in own.text
    attack.nothing_of_b(own)


@probe("GET", "/chats/{chat_id:id}/messages")
async def _chat_messages(attack: Attack) -> None:
    attack.refused(await attack.session.get(f"/chats/{attack.b.chat_id}/messages"), 403)
    before = str(attack.b.message_id + 1)
    attack.refused(
        await attack.session.get(f"/chats/{attack.b.chat_id}/messages", params={"before": before}), 403
    )
    own = await attack.session.get(f"/chats/{attack.a.chat_id}/messages", params={"before": before})
    assert own.status_code == 200
    attack.nothing_of_b(own)


@probe("GET", "/chats/{chat_id:id}/media/{message_id:id}")
async def _chat_media(attack: Attack) -> None:
    a, b = attack.a, attack.b
    for path in (
        f"/chats/{b.chat_id}/media/{b.media_message_id}",
        f"/chats/{b.chat_id}/media/{b.document_message_id}?download=1",
        f"/chats/{a.chat_id}/media/{b.media_message_id}",  # A's chat, B's attachment
        f"/chats/{a.chat_id}/media/{b.document_message_id}?download=1",
    ):
        answer = await attack.session.get(path)
        assert answer.status_code in REFUSED and PNG not in answer.content, (path, answer.status_code)
        attack.nothing_of_b(answer)


@probe("POST", "/chats/new")
async def _chat_new(attack: Attack) -> None:
    form = {
        "to": "+" + attack.a.contact,
        "account_id": str(attack.b.account_id),
        "text": "cross-company new chat",
        "client_ref": "attack-new-chat",
        "csrf_token": attack.csrf,
    }
    from_b = await attack.session.post("/chats/new", data=form)
    attack.refused(from_b, 400)
    assert 'data-reason="unknown_from_number"' in from_b.text, from_b.text
    attack.nothing_of_b(from_b)


@probe("POST", "/chats/{chat_id:id}/reply")
async def _chat_reply(attack: Attack) -> None:
    for chat_id in (attack.b.chat_id, attack.b.group_chat_id):
        form = {
            "text": "cross-company reply",
            "client_ref": f"attack-reply-{chat_id}",
            "csrf_token": attack.csrf,
        }
        answer = await attack.session.post(
            f"/chats/{chat_id}/reply", data=form, files={"file": ("x.pdf", b"%PDF-1.4 x", "application/pdf")}
        )
        attack.refused(answer, 403)


# --- install, uninstall, sign-in callback ----------------------------------------------------------------


@probe("GET", "/install")
async def _install(attack: Attack) -> None:
    answer = await attack.frame("GET", "/install", params={"company_id": attack.b.pipedrive_company_id})
    assert answer.status_code == 302 and "state=" in answer.headers["location"]


@probe("GET", "/oauth/callback")
async def _callback(attack: Attack) -> None:
    # A code that was never issued (say, one guessed for B's admin) installs nothing and signs nobody in.
    answer = await attack.session.get("/oauth/callback", params={"code": f"forged-for-{attack.b.user.id}"})
    assert answer.status_code >= 400 and "set-cookie" not in answer.headers, answer.status_code
    attack.nothing_of_b(answer)


@probe("DELETE", "/oauth/callback")
async def _uninstall(attack: Attack) -> None:
    b = attack.b
    body = {
        "client_id": CLIENT_ID,
        "company_id": b.pipedrive_company_id,
        "user_id": b.user.id,
        "timestamp": "1",
    }
    bearer = {"Authorization": f"Bearer {attack.world.token(attack.a)}"}
    attack.refused(await attack.frame("DELETE", "/oauth/callback", json=body, headers=bearer), 401)
    basic = base64.b64encode(f"{CLIENT_ID}:{attack.world.token(attack.a)}".encode()).decode()
    wrong = {"Authorization": f"Basic {basic}"}
    attack.refused(await attack.frame("DELETE", "/oauth/callback", json=body, headers=wrong), 401)


@probe("POST", "/oauth/callback")
async def _notice(attack: Attack) -> None:
    body = {"company_id": attack.b.pipedrive_company_id, "user_id": attack.b.user.id}
    attack.refused(await attack.frame("POST", "/oauth/callback", json=body), 401)


def _tickets(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="wapipe.installed")


@probe("GET", "/installed")
@probe("GET", "/installed/setup")
async def _installed(attack: Attack) -> None:
    a, b = attack.a, attack.b
    tickets = _tickets(attack.world.base.settings)
    own = tickets.dumps({"c": a.company_id, "u": a.user.id, "n": "Acme Sales GmbH"})
    forged_payload = tickets.dumps({"c": b.company_id, "u": b.user.id, "n": "Globex Inc"}).rsplit(".", 2)[0]
    # B's ids under the signature of A's ticket.
    forged = forged_payload + "." + ".".join(own.rsplit(".", 2)[1:])
    for path in ("/installed", "/installed/setup"):
        mine = await attack.world.client.get(path, params={"ticket": own})
        assert mine.status_code == 200, mine.text
        attack.nothing_of_b(mine)
        attack.refused(await attack.world.client.get(path, params={"ticket": forged}), 400)


# --- the tests -------------------------------------------------------------------------------------------


def app_routes(settings: Settings) -> set[tuple[str, str]]:
    found = set()
    for route in create_app(settings).routes:
        if isinstance(route, Route) and route.methods:
            found |= {(method, route.path) for method in route.methods - SKIP_METHODS}
        elif isinstance(route, Mount):
            found.add(("MOUNT", route.path))
        else:
            found.add((type(route).__name__, str(getattr(route, "path", route))))
    return found


# Mounted static files: the same bytes for everyone, no company data.
MOUNTS_WITHOUT_DATA = {("MOUNT", "/static")}


async def job_by_name(name: str) -> Callable[..., Awaitable[Any]]:
    for function in FUNCTIONS:
        if function.name == name:
            coroutine: Callable[..., Awaitable[Any]] = function.coroutine
            return coroutine
    raise KeyError(name)


def test_every_route_and_job_is_in_the_tenancy_table(make_settings: Callable[..., Settings]) -> None:
    routes = app_routes(make_settings(**world_settings_overrides()))
    covered = set(ROUTE_PROBES) | MOUNTS_WITHOUT_DATA
    assert routes - covered == set(), f"routes without a tenancy probe: {sorted(routes - covered)}"
    assert covered - routes == set(), f"probes for routes that no longer exist: {sorted(covered - routes)}"
    crons = [*CRON_JOBS, *WORKER_CRON_JOBS]
    jobs = {function.name for function in FUNCTIONS} | {cron.name for cron in crons}
    listed = set(JOB_PROBES) | set(JOBS_WITHOUT_IDS)
    assert jobs - listed == set(), f"jobs without a tenancy probe: {sorted(jobs - listed)}"
    assert listed - jobs == set(), f"probes for jobs that no longer exist: {sorted(listed - jobs)}"


async def attack_of(world: TenancyWorld) -> Attack:
    session = await world.signed_in(world.a)
    page = await session.get(f"/chats/{world.a.chat_id}")
    assert page.status_code == 200, page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return Attack(world, world.a, world.b, session, csrf)


@shares_the_world
async def test_company_a_reaches_nothing_of_company_b_through_any_route(world: TenancyWorld) -> None:
    attack = await attack_of(world)
    before = await world.snapshot(world.b)
    done: set[int] = set()
    try:
        for (method, path), run in sorted(ROUTE_PROBES.items()):
            if id(run) in done:  # one probe can cover several routes
                continue
            done.add(id(run))
            await run(attack)
            await world.settle()
            changed = differences(before, await world.snapshot(world.b))
            assert not changed, f"{method} {path} changed company B:\n" + "\n".join(changed)
    finally:
        await attack.session.aclose()


# --- jobs ------------------------------------------------------------------------------------------------

JobProbe = Callable[[TenancyWorld, Callable[..., Awaitable[Any]]], Awaitable[None]]
JOB_PROBES: dict[str, JobProbe] = {}
JOBS_WITHOUT_IDS = {
    "sweep_inbound": "re-enqueues stored deliveries by id; process_inbound_event's probe covers them",
    "watch_sessions": "asks each linked session for its status; every account is handled as its own",
    "flush_batched": "queues due chats by id; sync_chat's probe covers them",
    "sync_watchdog": "queues chats behind by id; sync_chat's probe covers them",
    "sync_rescue": "queues chats whose lease ran out unreleased by id; sync_chat's probe covers them",
    "sweep_outbox": "queues sends whose job was lost by outbox id; send_outbox's probe covers them",
    "reap_dead_workers": "frees queued jobs of dead workers by job id; each job's own probe covers it",
    "apply_retention": "deletes each company's old messages by that company's own settings",
    "purge_uninstalled_companies": "deletes companies whose last installation is gone (tests/install)",
    "retry_media_deletions": "deletes listed files by content hash that no row names (no company data)",
    "campaign_watchdog": "starts overdue campaign runs by id; campaign_tick's probe covers them",
    "settle_waiting_opt_outs": (
        "records each company's waiting opt-outs by numbers in its own chats "
        "(tests/campaigns/test_waiting_opt_outs.py)"
    ),
}


def job_probe(name: str) -> Callable[[JobProbe], JobProbe]:
    def register(function: JobProbe) -> JobProbe:
        JOB_PROBES[name] = function
        return function

    return register


def job_ctx(world: TenancyWorld) -> dict[str, Any]:
    return {**world.queue.ctx, "job_id": "tenancy-probe", "job_try": 1, "enqueue_time": datetime.now(UTC)}


@job_probe("process_inbound_event")
async def _process_inbound(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    for event_id in world.b.event_ids:
        await job(job_ctx(world), event_id)


@job_probe("catch_up_account")
async def _catch_up(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    await job(job_ctx(world), world.b.account_id)
    now = datetime.now(UTC)  # and a further run of a catch-up of B's number
    chain = CatchUpChain(since=now - timedelta(days=1), began=now, mark_was=None, may_mark=True, offset=0)
    await job(job_ctx(world), world.b.account_id, "reconnect", chain.as_job_argument())


@job_probe("setup_company")
async def _setup(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    await job(job_ctx(world), world.b.company_id)


@job_probe("sync_chat")
async def _sync(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    for chat_id in (world.b.chat_id, world.b.group_chat_id):
        await job(job_ctx(world), chat_id)


@job_probe("fetch_chat_media")
async def _media(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    await job(job_ctx(world), world.b.chat_id)


@job_probe("send_outbox")
async def _send(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    await job(job_ctx(world), world.b.outbox_id)  # sent already: nothing to do


@job_probe("campaign_tick")
async def _campaign_tick(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    for campaign_id in await _campaign_ids(world, world.b):  # B's draft: a run of it sends nothing
        for seq in (0, 1):
            await job(job_ctx(world), campaign_id, seq)


@job_probe("campaign_check_reply")
async def _campaign_reply(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    await job(job_ctx(world), world.b.company_id, "+" + world.b.contact, f"{world.a.secret} hello")


@job_probe("campaign_check_lid_reply")
async def _campaign_lid_reply(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    b, at = world.b, datetime.now(UTC).isoformat()
    await job(job_ctx(world), b.company_id, b.account_id, b.waiting_lid, f"{world.a.secret} hello", at)


@job_probe("campaign_mark_opted_out")
async def _campaign_opt_out(world: TenancyWorld, job: Callable[..., Awaitable[Any]]) -> None:
    for person_id in (world.b.person_id, world.b.unshared_person_id):  # B has no opt-outs: nothing written
        await job(job_ctx(world), world.b.company_id, person_id, "2026-12-07")


async def _campaign_ids(world: TenancyWorld, tenant: Tenant) -> list[int]:
    table = SQLModel.metadata.tables["campaign"]
    async with world.engine.connect() as connection:
        query = sa.select(table.c.id).where(table.c.company_id == tenant.company_id)
        ids = [int(i) for i in (await connection.execute(query)).scalars()]
    assert ids, "the tenancy world drafts a campaign per company"
    return ids


def without_setup_check(snapshot: dict[str, Any]) -> dict[str, Any]:
    settings = [{**row, "updated_at": None} for row in snapshot["tables"]["company_settings"]]
    return {
        **snapshot,
        "tables": {**snapshot["tables"], "company_settings": settings},
        "pipedrive": {**snapshot["pipedrive"], "usage": None},
    }


def without_catch_up_mark(snapshot: dict[str, Any]) -> dict[str, Any]:
    accounts = [{**row, "caught_up_until": None} for row in snapshot["tables"]["whatsapp_account"]]
    return {**snapshot, "tables": {**snapshot["tables"], "whatsapp_account": accounts}}


# Run again for B, these jobs redo B's routine work, and may move only what that moves; nothing else of B may
# change. Set-up checks B's setup again in B's Pipedrive with B's own token: B's API usage and the time B's
# settings were saved. A catch-up reads B's number's history again: B's number is caught up to a later time.
REDONE_FOR_B: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "setup_company": without_setup_check,
    "catch_up_account": without_catch_up_mark,
}


@shares_the_world
async def test_jobs_given_company_b_ids_change_neither_company(world: TenancyWorld) -> None:
    tenants = (world.a, world.b)
    for name, run in sorted(JOB_PROBES.items()):
        before = [await world.snapshot(tenant) for tenant in tenants]
        await run(world, await job_by_name(name))
        await world.settle()
        for tenant, snapshot in zip(tenants, before, strict=True):
            now = await world.snapshot(tenant)
            if tenant is world.b and name in REDONE_FOR_B:
                snapshot, now = REDONE_FOR_B[name](snapshot), REDONE_FOR_B[name](now)
            changed = differences(snapshot, now)
            assert not changed, f"job {name} with B's ids changed company {tenant.label}:\n" + "\n".join(
                changed
            )


async def _forge_outbox(world: TenancyWorld, **values: Any) -> int:
    """An outbox row of company A that names one of B's ids (no route lets one be stored: a second line)."""
    table = SQLModel.metadata.tables["outbox"]
    row = {
        "client_ref": f"forged-{time.monotonic_ns()}",
        "company_id": world.a.company_id,
        "account_id": world.a.account_id,
        "requested_by": world.a.user.id,
        "to_chat": "+" + world.b.contact,
        "text": "forged",
        "status": "queued",
        **values,
    }
    async with world.engine.begin() as connection:
        result = await connection.execute(sa.insert(table).values(**row).returning(table.c.id))
        return int(result.scalar_one())


async def _outbox_row(world: TenancyWorld, outbox_id: int) -> dict[str, Any]:
    table = SQLModel.metadata.tables["outbox"]
    async with world.engine.connect() as connection:
        row = (await connection.execute(sa.select(table).where(table.c.id == outbox_id))).mappings().one()
    return dict(row)


@shares_the_world
async def test_a_send_naming_company_b_ids_touches_nothing_of_b(world: TenancyWorld) -> None:
    """A's outbox row naming B's WhatsApp number, then one naming B's Pipedrive file: the send job refuses
    each by name and B's number sends nothing, B's Pipedrive is not read with anyone's token."""
    send = await job_by_name("send_outbox")
    for what in ("b_number", "b_file"):
        before = await world.snapshot(world.b)
        if what == "b_number":
            outbox_id = await _forge_outbox(world, account_id=world.b.account_id)
            reason = "unknown_from_number"
        else:
            outbox_id = await _forge_outbox(world, file_id=world.b.file_id, file_name="Globex-classified.pdf")
            reason = "attachment_missing"
        result = await send(job_ctx(world), outbox_id)
        await world.settle()
        changed = differences(before, await world.snapshot(world.b))
        assert not changed, f"A's send naming B's {what} changed company B:\n" + "\n".join(changed)
        row = await _outbox_row(world, outbox_id)
        assert row["status"] == "failed" and row["error_reason"] == reason, (what, result, row)


@shares_the_world
async def test_a_chat_linked_to_a_company_b_person_writes_nothing_into_b(world: TenancyWorld) -> None:
    """A's chat whose link names B's Person (a stored id of the wrong company): syncing A's new messages
    goes to A's Pipedrive with A's token only; B's Pipedrive, usage included, is untouched."""
    links = SQLModel.metadata.tables["sync_chat_link"]
    async with world.engine.begin() as connection:
        await connection.execute(
            sa.update(links)
            .where(links.c.chat_id == world.a.chat_id)
            .values(person_id=world.b.unshared_person_id)
        )
    before = await world.snapshot(world.b)
    world.base.waha.receive(world.a.session, world.a.contact, "Acme-geheim after the forged link")
    await world.settle()
    changed = differences(before, await world.snapshot(world.b))
    assert not changed, "A's sync wrote into company B:\n" + "\n".join(changed)
