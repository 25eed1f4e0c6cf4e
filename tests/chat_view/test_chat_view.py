"""The chat view over HTTP: sign-in through Pipedrive OAuth, same-company access only, history paging (and
polling for messages stored since), media downloads, CSRF-protected replies, and escaping."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy import select

from sandbox.pipedrive.app import create_app as create_pipedrive
from sandbox.pipedrive.state import SandboxUser
from server.domain.message_templates import TemplateDraft, TemplateScope
from server.storage.chat_history import SqlChatHistory
from server.storage.message_templates import SqlTemplateStore
from server.storage.tables import AuditLog, Chat, Outbox, table_of
from tests.panel.world import PanelWorld
from tests.world import CLIENT_ID, SANDBOX, WAPIPE

SESSION = "wp-acme-anna"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def chat_id_of(world: PanelWorld, e164: str) -> int:
    table = table_of(Chat)
    async with world.resources.engine.connect() as connection:
        found = (await connection.execute(select(table.c.id).where(table.c.e164 == e164))).scalar()
    assert found is not None
    return int(found)


def browser(world: PanelWorld) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=WAPIPE)


async def sign_in(
    world: PanelWorld, client: httpx.AsyncClient, user: SandboxUser, chat_id: int
) -> httpx.Response:
    start = await client.get(f"/chats/{chat_id}")
    assert start.status_code == 303 and start.headers["location"] == f"/signin?next=%2Fchats%2F{chat_id}"
    authorize = await client.get(start.headers["location"])
    assert authorize.status_code == 302 and authorize.headers["location"].startswith(
        SANDBOX + "/oauth/authorize"
    )
    state = parse_qs(urlparse(authorize.headers["location"]).query)["state"][0]
    form = {
        "client_id": CLIENT_ID,
        "redirect_uri": f"{WAPIPE}/oauth/callback",
        "user_id": str(user.id),
        "state": state,
        "decision": "allow",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_pipedrive(world.pd)), base_url=SANDBOX
    ) as sandbox:
        answer = await sandbox.post("/oauth/authorize", data=form)
    assert answer.status_code == 302, answer.text
    callback = await client.get(answer.headers["location"])
    assert callback.status_code == 303 and callback.headers["location"] == f"/chats/{chat_id}"
    cookie = callback.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/chats" in cookie and "SameSite=lax" in cookie
    return await client.get(f"/chats/{chat_id}")


async def conversation(world: PanelWorld, count: int = 3) -> int:
    for number in range(count):
        world.waha.receive(SESSION, "4917655501234", f"Nachricht {number:03d}", push_name="Maria")
    await world.settle()
    return await chat_id_of(world, "+4917655501234")


def csrf(page: str) -> tuple[str, str]:
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    ref = page.split('name="client_ref" value="')[1].split('"')[0]
    return token, ref


async def test_without_a_session_the_chat_view_asks_to_sign_in(world: PanelWorld) -> None:
    chat_id = await conversation(world, 1)
    async with browser(world) as client:
        answer = await client.get(f"/chats/{chat_id}")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=")
        for path in (f"/chats/{chat_id}/messages", f"/chats/{chat_id}/media/1"):
            assert (await client.get(path)).status_code == 401
        forged = await client.get(f"/chats/{chat_id}", headers={"Cookie": "wapipe_session=forged"})
        assert forged.status_code == 303
        hostile = await client.get("/signin", params={"next": "https://evil.test/x"})
        state = parse_qs(urlparse(hostile.headers["location"]).query)["state"][0]
        assert "evil" not in state


async def test_a_signed_in_user_reads_the_history_page_by_page(world: PanelWorld) -> None:
    chat_id = await conversation(world, 57)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        assert page.status_code == 200
        first = set(re.findall(r"Nachricht \d{3}", page.text))
        assert len(first) == 50 and page.text.count("<article ") == 50
        assert "Maria Kunde" in page.text and 'id="load-older"' in page.text
        older_url = page.text.split('id="load-older" hx-get="')[1].split('"')[0].replace("&amp;", "&")
        older = await client.get(older_url)
        assert older.status_code == 200
        rest = set(re.findall(r"Nachricht \d{3}", older.text))
        assert len(rest) == 7 and not first & rest
        assert first | rest == {f"Nachricht {n:03d}" for n in range(57)}
        assert 'id="load-older"' not in older.text


async def test_the_page_polls_for_messages_stored_after_its_newest_and_only_those(world: PanelWorld) -> None:
    chat_id = await conversation(world, 3)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        ids = [int(part.split('"')[0]) for part in page.text.split('data-message-id="')[1:]]
        newer_url = page.text.split('id="newer" hx-get="')[1].split('"')[0].replace("&amp;", "&")
        # No message of the chat has changed yet: the page has seen revision 0.
        assert newer_url == f"/chats/{chat_id}/messages?after={max(ids)}&seen=0"
        assert (await client.get(newer_url)).status_code == 204  # nothing new: htmx swaps nothing

        world.waha.receive(SESSION, "4917655501234", "Eine neue Nachricht", push_name="Maria")
        world.waha.receive(SESSION, "4917655501234", "Und noch eine", push_name="Maria")
        await world.settle()
        newer = await client.get(newer_url)
        assert newer.status_code == 200
        texts = re.findall(r'<p class="text">([^<]*)</p>', newer.text)
        assert texts == ["Eine neue Nachricht", "Und noch eine"]
        assert "Nachricht 00" not in newer.text and 'id="load-older"' not in newer.text
        new_ids = [int(part.split('"')[0]) for part in newer.text.split('data-message-id="')[1:]]
        assert min(new_ids) > max(ids)
        next_url = newer.text.split('id="newer" hx-get="')[1].split('"')[0].replace("&amp;", "&")
        assert next_url == f"/chats/{chat_id}/messages?after={max(new_ids)}&seen=0"
        assert (await client.get(next_url)).status_code == 204

        # A page of older messages is no place to poll from.
        older = await client.get(f"/chats/{chat_id}/messages", params={"before": max(new_ids)})
        assert "Nachricht 002" in older.text and 'id="newer"' not in older.text


async def test_media_is_previewed_and_downloaded_with_a_safe_name(world: PanelWorld) -> None:
    world.waha.receive(
        SESSION, "4917655501234", "", kind="image", data=PNG, mimetype="image/png", filename="a.png"
    )
    evil_name = '../../etc/"passwd"\u202egnp.exe'
    world.waha.receive(
        SESSION,
        "4917655501234",
        "",
        kind="document",
        data=b"%PDF-1.4 x",
        mimetype="application/pdf",
        filename=evil_name,
    )
    await world.settle()
    chat_id = await chat_id_of(world, "+4917655501234")
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        assert '<img class="media" src="/chats/' in page.text
        ids = [int(part.split('"')[0]) for part in page.text.split('data-message-id="')[1:]]
        # Both arrive in the same second, so read which one is the image from the page, not the order.
        image_id = int(
            page.text.split(f'<img class="media" src="/chats/{chat_id}/media/')[1].split("?")[0].split('"')[0]
        )
        document_id = next(i for i in ids[-2:] if i != image_id)
        image = await client.get(f"/chats/{chat_id}/media/{image_id}")
        assert (
            image.status_code == 200 and image.headers["content-type"] == "image/png" and image.content == PNG
        )
        assert image.headers["content-disposition"].startswith("inline;")
        download = await client.get(f"/chats/{chat_id}/media/{document_id}", params={"download": "1"})
        # Only pictures, audio and video are shown in place: a PDF is saved, as plain bytes.
        assert download.status_code == 200 and download.headers["content-type"] == "application/octet-stream"
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment;") and "/" not in disposition.split("filename*=")[0]
        assert "\u202e" not in disposition and '"passwd"' not in disposition


async def test_another_companys_user_is_refused_and_sees_nothing(world: PanelWorld) -> None:
    chat_id = await conversation(world, 2)
    world.waha.receive(SESSION, "4917655501234", "", kind="image", data=PNG, mimetype="image/png")
    await world.settle()
    async with browser(world) as client:
        refused = await sign_in(world, client, world.grace, chat_id)
        assert refused.status_code == 403 and 'data-reason="forbidden"' in refused.text
        assert "Nachricht" not in refused.text and "Maria" not in refused.text
        assert (await client.get(f"/chats/{chat_id}/messages")).status_code == 403
        assert (await client.get(f"/chats/{chat_id}/media/1")).status_code == 403
        posted = await client.post(f"/chats/{chat_id}/reply", data={"text": "hi"})
        assert posted.status_code == 403
    assert await world.outbox() == []


async def test_replies_need_a_valid_csrf_token_and_go_through_the_outbox(world: PanelWorld) -> None:
    chat_id = await conversation(world, 1)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        token, ref = csrf(page.text)
        missing = await client.post(f"/chats/{chat_id}/reply", data={"text": "Hallo", "client_ref": ref})
        assert missing.status_code == 403 and 'data-reason="csrf_missing"' in missing.text
        wrong = await client.post(
            f"/chats/{chat_id}/reply", data={"text": "Hallo", "client_ref": ref, "csrf_token": token + "x"}
        )
        assert wrong.status_code == 403 and 'data-reason="csrf_invalid"' in wrong.text
        assert await world.outbox() == []
        form = {"text": "Gern, hier ist das Angebot", "client_ref": ref, "csrf_token": token}
        sent = await client.post(f"/chats/{chat_id}/reply", data=form)
        assert sent.status_code == 200 and 'id="reply-sent"' in sent.text
        again = await client.post(f"/chats/{chat_id}/reply", data=form)  # a double click sends once
        assert again.status_code == 200
        bad_type = await client.post(
            f"/chats/{chat_id}/reply",
            data={"text": "", "client_ref": ref + "b", "csrf_token": token},
            files={"file": ("x.html", b"<html>", "text/html")},
        )
        assert bad_type.status_code == 400 and 'data-reason="attachment_type_not_allowed"' in bad_type.text
        mismatch = await client.post(
            f"/chats/{chat_id}/reply",
            data={"text": "", "client_ref": ref + "c", "csrf_token": token},
            files={"file": ("x.png", b"not a png", "image/png")},
        )
        assert mismatch.status_code == 400 and 'data-reason="attachment_type_mismatch"' in mismatch.text
        with_file = await client.post(
            f"/chats/{chat_id}/reply",
            data={"text": "Das Angebot", "client_ref": ref + "d", "csrf_token": token},
            files={"file": ("Angebot.pdf", b"%PDF-1.4 offer", "application/pdf")},
        )
        assert with_file.status_code == 200, with_file.text
    outbox: list[dict[str, Any]] = await world.outbox()
    assert [(row["to_chat"], row["text"]) for row in outbox] == [
        ("+4917655501234", "Gern, hier ist das Angebot"),
        ("+4917655501234", "Das Angebot"),
    ]
    assert outbox[1]["file_id"] is not None and outbox[1]["file_name"] == "Angebot.pdf"
    assert outbox[0]["requested_by"] == world.anna.id
    audit = await world.rows(AuditLog)
    assert [row["action"] for row in audit] == ["message.send", "message.send"]


async def test_a_csrf_token_works_only_for_the_user_it_was_made_for(world: PanelWorld) -> None:
    chat_id = await conversation(world, 1)
    bob = world.pd.add_user(world.anna.company_id, "Bob Sales", "bob@acme.test")
    await world.install(bob)  # each user signs in with their own installation
    async with browser(world) as anna_browser, browser(world) as bob_browser:
        anna_token, _ = csrf((await sign_in(world, anna_browser, world.anna, chat_id)).text)
        bob_page = await sign_in(world, bob_browser, bob, chat_id)
        assert bob_page.status_code == 200  # a colleague in the same company may read and reply
        bob_token, ref = csrf(bob_page.text)
        assert anna_token != bob_token
        stolen = await bob_browser.post(
            f"/chats/{chat_id}/reply", data={"text": "Hallo", "client_ref": ref, "csrf_token": anna_token}
        )
        assert stolen.status_code == 403 and 'data-reason="csrf_invalid"' in stolen.text
        assert await world.outbox() == []
        own = await bob_browser.post(
            f"/chats/{chat_id}/reply", data={"text": "Hallo", "client_ref": ref, "csrf_token": bob_token}
        )
        assert own.status_code == 200 and 'id="reply-sent"' in own.text
    assert [(row["text"], row["requested_by"]) for row in await world.outbox()] == [("Hallo", bob.id)]


async def test_hostile_text_is_escaped_in_the_chat_view(world: PanelWorld) -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202e\u200b'
    world.waha.receive(SESSION, "4917655501234", evil, push_name=evil)
    await world.settle()
    chat_id = await chat_id_of(world, "+4917655501234")
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text


_ = Outbox


async def test_the_reply_box_offers_templates_rendered_for_the_chats_person(world: PanelWorld) -> None:
    made = await SqlTemplateStore(world.resources.engine).create(
        1,
        world.anna.id,
        TemplateDraft(TemplateScope.company, "hello", "Hi {{person.name|there}} – {{me.name}}"),
        None,
    )
    chat_id = await conversation(world, 1)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        assert f'hx-get="/chats/{chat_id}/templates" hx-trigger="load"' in page.text
        picker = await client.get(f"/chats/{chat_id}/templates")
        assert f'<option value="saved:{made.id}">hello (Company)</option>' in picker.text
        answer = await client.get(
            f"/chats/{chat_id}/templates/render", params={"template": f"saved:{made.id}"}
        )
        assert answer.status_code == 200, answer.text
        box = re.search(
            r'<textarea id="reply-text" name="text" rows="3" hx-swap-oob="true">(.*?)</textarea>', answer.text
        )
        assert box is not None
        row = await SqlChatHistory(world.resources.engine).chat(1, chat_id)
        assert row is not None and row.person_id == world.persons["maria"]  # linked by the phone
        person = world.pd.company_data(world.anna.company_id).persons[row.person_id]["name"]
        assert box.group(1) == f"Hi {person} – Anna Admin"
    async with browser(world) as stranger:
        refused = await stranger.get(f"/chats/{chat_id}/templates")
        assert refused.status_code == 401
