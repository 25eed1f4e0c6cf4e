"""The panel over HTTP: the token decides company and user, every named error, idempotent sends, company
isolation, and escaping of everything users and contacts type."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import jwt
from sqlalchemy import select, update

from sandbox.pipedrive.seed import seed_file
from server.storage.accounts import SqlAccountStore
from server.storage.tables import AuditLog, Chat, Company, MessageMediaRow, Outbox, WhatsAppAccount, table_of
from server.web.panel_context import ContactCache
from tests.panel.world import ANNA_NUMBER, PanelWorld

REF = "ref-0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def page_params(world: PanelWorld, person: str = "maria", **extra: Any) -> dict[str, Any]:
    return {"resource": "person", "selectedIds": world.persons[person], "id": "frame-1", **extra}


def send_form(world: PanelWorld, person: str = "maria", **fields: Any) -> dict[str, Any]:
    form = {
        "person_id": world.persons[person],
        "client_ref": REF,
        "to": "+49 176 55501234",
        "account_id": 1,
        "region": "",
        "file_id": "",
        "text": "Hallo Maria",
    }
    form.update(fields)
    return form


async def test_the_panel_needs_a_valid_token(world: PanelWorld) -> None:
    missing = await world.client.get("/panel", params=page_params(world))
    assert missing.status_code == 401 and 'data-reason="token_missing"' in missing.text
    expired = await world.client.get("/panel", params=page_params(world, token=world.token(ttl=-60)))
    assert expired.status_code == 401 and 'data-reason="token_expired"' in expired.text
    forged = jwt.encode(
        {"userId": world.anna.id, "companyId": world.anna.company_id, "exp": time.time() + 60}, "x" * 32
    )
    assert (await world.client.get("/panel", params=page_params(world, token=forged))).status_code == 401
    for path in ("/panel/messages", "/panel/send", "/panel/relink", "/panel/pin"):
        method = world.client.get if path == "/panel/messages" else world.client.post
        assert (await method(path)).status_code == 401


async def test_the_panel_shows_phones_numbers_and_files(world: PanelWorld) -> None:
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert page.status_code == 200
    assert "Maria Kunde" in page.text
    assert (
        '<option value="+49 176 55501234" data-international="1" selected>+49 176 55501234 (mobile)'
        in page.text
    )
    assert "0151 7777 1234 (mobile)" in page.text
    assert f"+{ANNA_NUMBER} – Connected" in page.text
    assert "offer.pdf (Person)" in page.text
    assert 'id="region-field" hidden' in page.text  # the chosen number has its country code
    assert '<script src="/static/js/panel.js">' in page.text
    assert "No WhatsApp messages with this person yet" in page.text


async def test_a_deal_panel_shows_the_deals_person_and_both_files(world: PanelWorld) -> None:
    params: dict[str, Any] = {"resource": "deal", "selectedIds": world.deal_id, "token": world.token()}
    page = await world.client.get("/panel", params=params)
    assert page.status_code == 200
    assert (
        "Maria Kunde" in page.text
        and "contract.pdf (Deal)" in page.text
        and "offer.pdf (Person)" in page.text
    )


async def test_a_number_without_country_code_asks_for_the_country_suggested_from_the_from_number(
    world: PanelWorld,
) -> None:
    page = await world.client.get("/panel", params=page_params(world, "local", token=world.token()))
    assert 'id="region-field" hidden' not in page.text
    assert '<option value="DE" selected>Germany (+49)</option>' in page.text


async def test_company_and_user_come_from_the_token_only(world: PanelWorld) -> None:
    # Grace's token with Acme's company and user in the query: still Grace's company. Pipedrive numbers
    # Persons per company, so Person 1 is Globex's Sam for her (Acme's Maria for Anna).
    assert world.persons["maria"] == world.persons["globex"]
    in_query = {"companyId": world.anna.company_id, "userId": world.anna.id}
    params: dict[str, Any] = page_params(world, "globex", token=world.token(world.grace), **in_query)
    page = await world.client.get("/panel", params=params)
    assert page.status_code == 200 and "Sam Francisco" in page.text and "Maria Kunde" not in page.text
    # A Person only Acme has is unknown to Grace's company.
    assert world.persons["missing"] not in world.pd.company_data(world.grace.company_id).persons
    params = page_params(world, "missing", token=world.token(world.grace), **in_query)
    page = await world.client.get("/panel", params=params)
    assert page.status_code == 404 and 'data-reason="person_not_found"' in page.text


async def test_sending_is_idempotent_and_the_phone_receives_it_once(world: PanelWorld) -> None:
    first = await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    again = await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    assert first.status_code == again.status_code == 200
    assert "panel-sent" in first.headers["hx-trigger"]
    assert 'name="client_ref" value=""' in first.text  # the page makes a new key for the next message
    assert len(await world.outbox()) == 1
    page = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
    )
    assert "Hallo Maria" in page.text
    await world.settle()
    [row] = await world.outbox()
    assert row["status"] == "sent", row
    sent = world.waha.outbox("wp-acme-anna")
    assert [m["text"] for m in sent] == ["Hallo Maria"]
    page = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
    )
    assert 'data-status="pending"' not in page.text
    assert "Hallo Maria" in page.text and f"via +{ANNA_NUMBER}" in page.text
    version = re.search(r'data-version="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
    unchanged = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"], "v": version}, headers=world.headers()
    )
    assert unchanged.status_code == 204
    # The next panel load defaults From to the number that talked to Maria and links the full chat.
    panel = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert 'id="open-chat"' in panel.text and 'href="/chats/' in panel.text


async def test_a_send_job_delivered_again_after_sending_does_not_send_again(world: PanelWorld) -> None:
    answer = await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    assert answer.status_code == 200
    await world.settle()
    [sent_row] = await world.outbox()
    assert sent_row["status"] == "sent"
    assert len(world.waha.outbox("wp-acme-anna")) == 1
    # The queue hands the same job out again (a worker died before acknowledging it).
    await world.resources.queue.enqueue("send_outbox", sent_row["id"], job_id="send-delivered-again")
    await world.settle()
    assert [m["text"] for m in world.waha.outbox("wp-acme-anna")] == ["Hallo Maria"]
    [row] = await world.outbox()
    assert (row["status"], row["wa_message_id"], row["attempts"]) == (
        "sent",
        sent_row["wa_message_id"],
        sent_row["attempts"],
    )
    assert [m["from_me"] for m in await world.messages() if m["text"] == "Hallo Maria"] == [True]


async def test_sending_a_persons_file(world: PanelWorld) -> None:
    form = send_form(world, text="", file_id=world.files["offer"], client_ref="ref-file-000000001")
    answer = await world.client.post("/panel/send", data=form, headers=world.headers())
    assert answer.status_code == 200
    await world.settle()
    [row] = await world.outbox()
    assert (row["status"], row["file_name"]) == ("sent", "offer.pdf")
    [sent] = world.waha.outbox("wp-acme-anna")
    assert "offer.pdf" in str(sent)


async def expect_form_error(world: PanelWorld, form: dict[str, Any], reason: str, status: int) -> str:
    answer = await world.client.post("/panel/send", data=form, headers=world.headers())
    assert answer.status_code == status, answer.text
    assert f'data-reason="{reason}"' in answer.text
    return answer.text


async def test_refusals_are_named_and_keep_what_was_typed(world: PanelWorld) -> None:
    typed = "Bitte <b>nicht</b> verlieren"
    text = await expect_form_error(
        world, send_form(world, "nophone", to="", text=typed), "no_phone_on_person", 400
    )
    assert "Bitte &lt;b&gt;nicht&lt;/b&gt; verlieren</textarea>" in text
    text = await expect_form_error(
        world, send_form(world, "bad", to="+1 23", text=typed), "number_invalid", 400
    )
    assert typed.replace("<", "&lt;").replace(">", "&gt;") in text
    form = send_form(world, "local", to="0176 5550 9999", region="US", text=typed)
    text = await expect_form_error(world, form, "number_invalid", 400)
    assert (
        "for US" in text and '<option value="US" selected>' in text and 'id="region-field" hidden' not in text
    )
    form = send_form(world, "local", to="0176 5550 9999", text=typed)
    await expect_form_error(world, form, "country_code_needed", 400)
    form = send_form(world, "missing", to="+49 176 00000000", text=typed)
    await expect_form_error(world, form, "number_not_on_whatsapp", 400)
    await expect_form_error(world, send_form(world, text="  "), "empty_message", 400)
    await expect_form_error(world, send_form(world, text="x" * 5000), "message_too_long", 400)
    await expect_form_error(world, send_form(world, client_ref="short"), "invalid_request", 400)
    await expect_form_error(world, send_form(world, file_id=999999), "attachment_missing", 404)
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(table_of(WhatsAppAccount)).values(status="disconnected", status_detail="phone offline")
        )
    text = await expect_form_error(world, send_form(world, text=typed), "from_disconnected", 400)
    assert "phone offline" in text and "disabled" in text
    assert await world.outbox() == []


async def test_a_disconnected_from_number_says_why_in_words(world: PanelWorld) -> None:
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(table_of(WhatsAppAccount)).values(status="failed", status_detail="FAILED")
        )
    why = "connection failed: the phone may be offline or logged out"
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert f"disabled>+{ANNA_NUMBER} – {why}</option>" in page.text and "FAILED" not in page.text
    text = await expect_form_error(world, send_form(world), "from_disconnected", 400)
    assert f"+{ANNA_NUMBER} is not connected – {why}" in text and "FAILED" not in text


async def test_failures_after_queueing_are_shown_on_the_message(world: PanelWorld) -> None:
    form = send_form(world, text="Hallo?")
    assert (await world.client.post("/panel/send", data=form, headers=world.headers())).status_code == 200
    await world.settle()
    async with world.resources.engine.begin() as connection:
        await connection.execute(update(table_of(Outbox)).values(status="failed"))
    for reason in ("outside_24h_window", "attachment_too_large", "budget_exhausted", "session_disconnected"):
        async with world.resources.engine.begin() as connection:
            await connection.execute(
                update(table_of(Outbox)).values(error_reason=reason, error_message=f"because {reason}")
            )
        page = await world.client.get(
            "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
        )
        assert f'data-reason="{reason}"' in page.text and f"because {reason}" in page.text


async def test_pipedrive_errors_are_named(world: PanelWorld) -> None:
    async with world.resources.engine.begin() as connection:
        from server.storage.tables import Installation

        await connection.execute(update(table_of(Installation)).values(status="needs_reauth"))
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert (
        page.status_code == 403
        and 'data-reason="needs_reauth"' in page.text
        and 'href="/install"' in page.text
    )
    async with world.resources.engine.begin() as connection:
        await connection.execute(update(table_of(Installation)).values(status="uninstalled"))
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert page.status_code == 403 and 'data-reason="not_installed"' in page.text


async def test_pipedrive_budget_exhausted_is_named(world: PanelWorld) -> None:
    from server.domain.errors import BudgetExhausted

    class Exhausted:
        async def for_user(self, company_id: int, user_id: int) -> None:
            raise BudgetExhausted("The daily Pipedrive API budget is spent; it resets at midnight")

    world.resources.pipedrive.connector.for_user = Exhausted().for_user  # type: ignore[method-assign,assignment]
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert page.status_code == 429 and 'data-reason="budget_exhausted"' in page.text
    assert "Pipedrive budget exhausted" in page.text


async def test_companies_are_isolated(world: PanelWorld) -> None:
    await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    await world.settle()
    grace = world.headers(world.grace)
    # Grace's company cannot see Acme's Person, chat, messages or attachments. Acme's Maria and Globex's Sam
    # are both Person 1 (Pipedrive numbers Persons per company): Sam's messages show nothing sent to Maria.
    assert world.persons["maria"] == world.persons["globex"]
    messages = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["globex"]}, headers=grace
    )
    assert messages.status_code == 200 and "Hallo Maria" not in messages.text
    assert world.persons["missing"] not in world.pd.company_data(world.grace.company_id).persons
    unknown = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["missing"]}, headers=grace
    )
    assert unknown.status_code == 404
    relink = await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person_id": world.persons["globex"]}, headers=grace
    )
    assert relink.status_code == 404 and 'data-reason="chat_not_found"' in relink.text
    pin = await world.client.post("/panel/pin", data={"chat_id": 1, "deal_id": 1}, headers=grace)
    assert pin.status_code in (400, 404)
    # Grace's Sam, from Acme's WhatsApp number (account 1).
    from_acme = send_form(world, "globex", to="+1 415 555 0132", client_ref="ref-grace-0000001")
    send = await world.client.post("/panel/send", data=from_acme, headers=grace)
    assert send.status_code == 404 and 'data-reason="unknown_from_number"' in send.text
    assert len(await world.outbox()) == 1
    forged_media = await world.client.get(
        "/panel/media/1", params={"c": 1, "e": int(time.time()) + 60, "s": "0" * 32}
    )
    assert forged_media.status_code == 403


def signed_media_path(world: PanelWorld, company_id: int, message_id: int, expires: int) -> str:
    """A panel media link as WaPipe signs it: HMAC-SHA256 of ``company:message:expiry`` under a key derived
    from the secret key, cut to 32 hex digits."""
    secret = world.settings.secret_key.get_secret_value()
    assert secret
    key = hashlib.sha256(b"wapipe-panel-media:" + secret.encode()).digest()
    signature = hmac.new(key, f"{company_id}:{message_id}:{expires}".encode(), hashlib.sha256).hexdigest()
    return f"/panel/media/{message_id}?c={company_id}&e={expires}&s={signature[:32]}"


async def stored_media_ids(world: PanelWorld) -> set[int]:
    media = table_of(MessageMediaRow)
    async with world.resources.engine.connect() as connection:
        query = select(media.c.message_id).where(media.c.state == "stored")
        return set((await connection.execute(query)).scalars())


async def test_an_expired_media_link_is_refused(world: PanelWorld) -> None:
    before = await stored_media_ids(world)
    world.waha.receive("wp-acme-anna", "4917655501234", "", kind="image", data=PNG, mimetype="image/png")
    await world.settle()
    [message_id] = await stored_media_ids(world) - before
    [company] = [
        row for row in await world.rows(Company) if row["pipedrive_company_id"] == world.anna.company_id
    ]
    now = int(time.time())
    fresh = await world.client.get(signed_media_path(world, company["id"], message_id, now + 600))
    assert (fresh.status_code, fresh.content) == (200, PNG)
    for expires in (now - 5, now - 3600):
        expired = await world.client.get(signed_media_path(world, company["id"], message_id, expires))
        assert expired.status_code == 403 and PNG not in expired.content, expires


async def test_relink_and_pin(world: PanelWorld) -> None:
    await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    await world.settle()
    relinked = await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person_id": world.persons["local"]}, headers=world.headers()
    )
    assert relinked.status_code == 200, relinked.text
    local = world.persons["local"]
    assert f"The chat is now linked to Lokal Lisa (Person #{local})" in relinked.text
    assert f"Linked to Person #{local} · by a manual link" in relinked.text
    unknown = await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person_id": 999999}, headers=world.headers()
    )
    assert unknown.status_code == 400 and 'data-reason="invalid_person"' in unknown.text
    pinned = await world.client.post(
        "/panel/pin", data={"chat_id": 1, "deal_id": world.deal_id}, headers=world.headers()
    )
    assert pinned.status_code == 200 and f"pinned: #{world.deal_id}" in pinned.text
    assert f"“Maria&#39;s order” (Deal #{world.deal_id}) is pinned to this chat" in pinned.text


async def test_user_text_names_and_file_names_are_escaped(world: PanelWorld) -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202e\u200b'
    world.waha.receive("wp-acme-anna", "4917655501234", evil, push_name=evil)
    world.waha.receive(
        "wp-acme-anna",
        "4917655501234",
        "",
        kind="document",
        data=b"x",
        mimetype="application/pdf",
        filename=evil,
    )
    await world.settle()
    seed_file(world.pd, world.anna.company_id, evil, b"x", person_id=world.persons["local"])
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
    local = await world.client.get("/panel", params=page_params(world, "local", token=world.token()))
    assert "<script>alert" not in local.text and "&lt;script&gt;" in local.text
    form = send_form(world, text=evil, client_ref="ref-evil-00000001", region='"><script>')
    answer = await world.client.post("/panel/send", data=form, headers=world.headers())
    assert "<script>alert" not in answer.text


async def audit_rows(world: PanelWorld) -> list[dict[str, Any]]:
    return await world.rows(AuditLog)


async def test_sends_relinks_and_pins_are_audited(world: PanelWorld) -> None:
    await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    await world.settle()
    await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person_id": world.persons["local"]}, headers=world.headers()
    )
    await world.client.post(
        "/panel/pin", data={"chat_id": 1, "deal_id": world.deal_id}, headers=world.headers()
    )
    await world.client.post("/panel/pin", data={"chat_id": 1, "unpin": "1"}, headers=world.headers())
    refused = await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person_id": 999999}, headers=world.headers()
    )
    assert refused.status_code == 400
    rows = [(r["action"], r["actor_user_id"], json.loads(r["details"])) for r in await audit_rows(world)]
    assert [action for action, _, _ in rows] == ["message.send", "chat.relink", "chat.pin", "chat.unpin"]
    assert all(actor == world.anna.id for _, actor, _ in rows)
    relink, pin, unpin = (details for _, _, details in rows[1:])
    assert relink["chat"] == 1 and relink["after"] == world.persons["local"]
    assert relink["before"] in (None, world.persons["maria"])  # whatever the chat was linked to before
    assert pin == {"chat": 1, "before": None, "after": world.deal_id}
    assert unpin == {"chat": 1, "before": world.deal_id}


async def test_a_file_too_large_for_whatsapp_is_refused_before_queueing(world: PanelWorld) -> None:
    big = seed_file(
        world.pd,
        world.anna.company_id,
        "catalogue.pdf",
        b"%PDF" + b"0" * (65 * 1024 * 1024),
        person_id=world.persons["maria"],
    )["id"]
    form = send_form(world, file_id=big, text="Der Katalog")
    text = await expect_form_error(world, form, "attachment_too_large", 400)
    assert "catalogue.pdf is 65 MB" in text and "up to 64 MB" in text
    assert (
        f'<option value="{big}" selected>catalogue.pdf (Person)' in text and "Der Katalog</textarea>" in text
    )
    assert await world.outbox() == []


async def test_a_pipedrive_failure_while_sending_keeps_the_form_and_names_it(world: PanelWorld) -> None:
    world.waha.receive("wp-acme-anna", "4917655501234", "Hallo", push_name="Maria")
    await world.settle()
    [chat] = await world.rows(Chat)  # Maria's, to re-link while Pipedrive refuses
    await world.client.get("/panel", params=page_params(world, token=world.token()))
    world.app.state.panel_contacts = ContactCache()  # the Person must be read again, as after two minutes
    limiter, company = world.pd.limiter, world.pd.companies[world.anna.company_id]
    seats = len(world.pd.company_users(company.id))
    limiter.exhaust_budget(company.id, limiter.daily_budget(company.id, company.plan, seats))
    answer = await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    assert answer.status_code == 429
    # The notice goes beside the form (htmx retargets it), so the form in the page keeps what was typed.
    assert (
        answer.headers["hx-retarget"] == "#panel-form-notice" and answer.headers["hx-reswap"] == "innerHTML"
    )
    assert 'data-reason="budget_exhausted"' in answer.text and "nothing you typed was sent" in answer.text
    assert 'id="panel-form"' not in answer.text
    relink = await world.client.post(
        "/panel/relink",
        data={"chat_id": chat["id"], "person_id": world.persons["local"]},
        headers=world.headers(),
    )
    assert relink.status_code == 429 and 'data-reason="budget_exhausted"' in relink.text
    assert f'placeholder="Name, phone or Person id" value="{world.persons["local"]}"' in relink.text  # kept
    assert await world.outbox() == [] and await audit_rows(world) == []


async def test_a_failed_send_goes_back_into_the_form(world: PanelWorld) -> None:
    form = send_form(world, text="Noch einmal, bitte", file_id=world.files["offer"])
    assert (await world.client.post("/panel/send", data=form, headers=world.headers())).status_code == 200
    await world.settle()
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(table_of(Outbox)).values(
                status="failed", error_reason="outside_24h_window", error_message="too late"
            )
        )
    page = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
    )
    retry = re.search(r'hx-get="(/panel/form\?[^"]+)"', page.text)
    assert retry is not None and "Ask the contact to write first" in page.text
    again = await world.client.get(retry.group(1).replace("&amp;", "&"), headers=world.headers())
    assert again.status_code == 200
    assert "Noch einmal, bitte</textarea>" in again.text
    assert f'<option value="{world.files["offer"]}" selected>offer.pdf (Person)' in again.text
    assert '<option value="+49 176 55501234" data-international="1" selected>' in again.text
    assert 'data-reason="outside_24h_window"' in again.text and 'name="client_ref" value=""' in again.text
    grace = await world.client.get(retry.group(1).replace("&amp;", "&"), headers=world.headers(world.grace))
    assert grace.status_code == 404 and "Noch einmal" not in grace.text


async def test_an_attachment_whatsapp_no_longer_has_is_named_not_available(world: PanelWorld) -> None:
    received = world.waha.receive(
        "wp-acme-anna", "4917655501234", "", kind="document", data=b"%PDF-1.4", mimetype="application/pdf"
    )
    assert received.media is not None
    world.waha.faults("wp-acme-anna").media_failures[received.media.name] = [404]  # gone on the gateway
    await world.settle()
    messages = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
    )
    assert messages.status_code == 200
    files = re.findall(r'<p class="file">(.*?)</p>', messages.text, re.S)
    assert len(files) == 1 and files[0].endswith("(not available)"), files
    assert "<a " not in files[0]  # nothing to open


async def test_a_from_number_unlinked_meanwhile_stays_chosen_and_is_refused_by_name(
    world: PanelWorld,
) -> None:
    second = await world.link_number(world.anna, "wp-acme-second", "4915199990000")
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert f'<option value="{second}" data-region="DE">+4915199990000 – Connected</option>' in page.text
    await SqlAccountStore(world.resources.engine).set_status(second, "unlinked", "unlinked in WaPipe")

    chosen = send_form(world, account_id=second, text="Von der zweiten Nummer")
    text = await expect_form_error(world, chosen, "from_disconnected", 400)
    why = "unlinked in WaPipe"
    assert f"+4915199990000 is not connected – {why}. Link it again on the WhatsApp numbers page" in text
    # The user's choice is still chosen (and says why it cannot send); the other number is not chosen.
    assert f'<option value="{second}" data-region="DE" selected>+4915199990000 – {why}</option>' in text
    assert f'<option value="1" data-region="DE">+{ANNA_NUMBER} – Connected</option>' in text
    assert "Or choose another From number" in text
    # Sending again as the form stands is refused the same way: nothing goes out from another number.
    await expect_form_error(world, chosen, "from_disconnected", 400)
    assert await world.outbox() == []
    # Not chosen, an unlinked number is not offered at all.
    page = await world.client.get("/panel", params=page_params(world, token=world.token()))
    assert "+4915199990000" not in page.text
