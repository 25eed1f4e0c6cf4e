"""Who may sign in to the chat view, and for how long: only a user with an active installation of WaPipe
(a colleague who never installed it is told to install it for themselves; a company in its grace period
is told an admin must install it), an uninstall ends that user's sessions at once, and the sign-in is
bound to the browser that started it and used once."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlparse

import httpx
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update

from sandbox.pipedrive.state import SandboxUser
from server.storage.tables import Chat, Installation, table_of
from tests.panel.world import PanelWorld
from tests.world import WAPIPE

SESSION = "wp-acme-anna"
CONTACT = "4917655501234"


def browser(world: PanelWorld) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=WAPIPE)


async def chat(world: PanelWorld) -> int:
    world.waha.receive(SESSION, CONTACT, "Guten Tag, hier Maria", push_name="Maria")
    await world.settle()
    table = table_of(Chat)
    async with world.resources.engine.connect() as connection:
        found = (await connection.execute(select(table.c.id).where(table.c.e164 == f"+{CONTACT}"))).scalar()
    assert found is not None
    return int(found)


async def start(client: httpx.AsyncClient, chat_id: int) -> str:
    """The browser opens /signin; the state Pipedrive is sent."""
    answer = await client.get("/signin", params={"next": f"/chats/{chat_id}"})
    assert answer.status_code == 302
    return parse_qs(urlparse(answer.headers["location"]).query)["state"][0]


async def sign_in(
    world: PanelWorld, client: httpx.AsyncClient, user: SandboxUser, chat_id: int
) -> httpx.Response:
    """The whole round trip in one browser; the callback's answer (not followed)."""
    state = await start(client, chat_id)
    return await client.get(await world.authorize(user, state=state))


async def member(world: PanelWorld, name: str = "Nick Member", *, install: bool = True) -> SandboxUser:
    user = world.pd.add_user(world.anna.company_id, name, f"{name.split()[0].lower()}@acme.test")
    if install:
        assert (await world.install(user)).status_code == 303
    return user


def refused(answer: httpx.Response, status: int, reason: str) -> None:
    assert answer.status_code == status, answer.text
    assert f'data-reason="{reason}"' in answer.text, answer.text
    assert "Guten Tag" not in answer.text and "Maria" not in answer.text


async def test_a_user_with_an_installation_signs_in_and_reads(world: PanelWorld) -> None:
    chat_id = await chat(world)
    nick = await member(world)
    async with browser(world) as client:
        callback = await sign_in(world, client, nick, chat_id)
        assert callback.status_code == 303 and callback.headers["location"] == f"/chats/{chat_id}"
        page = await client.get(f"/chats/{chat_id}")
        assert page.status_code == 200 and "Guten Tag, hier Maria" in page.text


async def test_a_colleague_who_never_installed_is_told_to_install_it_for_themselves(
    world: PanelWorld,
) -> None:
    chat_id = await chat(world)
    bob = await member(world, "Bob Sales", install=False)
    async with browser(world) as client:
        callback = await sign_in(world, client, bob, chat_id)
        refused(callback, 403, "install_required")
        assert 'href="/install"' in callback.text and "for yourself" in callback.text
        assert "wapipe_session" not in client.cookies
        assert (await client.get(f"/chats/{chat_id}")).status_code == 303  # still no session: sign in


async def test_a_user_who_uninstalled_cannot_sign_in(world: PanelWorld) -> None:
    chat_id = await chat(world)
    nick = await member(world)
    await world.uninstall_in_pipedrive(nick)
    async with browser(world) as client:
        refused(await sign_in(world, client, nick, chat_id), 403, "install_required")
        assert "wapipe_session" not in client.cookies


async def test_nobody_signs_in_to_a_company_in_its_grace_period(world: PanelWorld) -> None:
    chat_id = await chat(world)
    await world.uninstall_in_pipedrive(world.anna)  # the company's last installation
    async with browser(world) as client:
        callback = await sign_in(world, client, world.anna, chat_id)
        refused(callback, 403, "company_not_installed")
        assert "admin" in callback.text and 'href="/install"' not in callback.text
        assert "wapipe_session" not in client.cookies


async def test_a_user_pipedrive_no_longer_accepts_is_sent_to_install_again(world: PanelWorld) -> None:
    chat_id = await chat(world)
    nick = await member(world)
    table = table_of(Installation)
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(table).where(table.c.pipedrive_user_id == nick.id).values(status="needs_reauth")
        )
    async with browser(world) as client:
        callback = await sign_in(world, client, nick, chat_id)
        refused(callback, 403, "needs_reauth")
        assert 'href="/install"' in callback.text


async def test_an_uninstall_ends_the_users_sessions_at_once(world: PanelWorld) -> None:
    chat_id = await chat(world)
    nick = await member(world)
    async with browser(world) as client:
        assert (await sign_in(world, client, nick, chat_id)).status_code == 303
        page = await client.get(f"/chats/{chat_id}")
        assert page.status_code == 200
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        ref = page.text.split('name="client_ref" value="')[1].split('"')[0]
        kept_cookie = client.cookies["wapipe_session"]

        await world.uninstall_in_pipedrive(nick)

        refused(await client.get(f"/chats/{chat_id}"), 403, "install_required")
        assert "wapipe_session" not in client.cookies  # the refusal also drops the cookie
        client.cookies.set("wapipe_session", kept_cookie, domain="wapipe.test", path="/chats")
        refused(
            await client.get(f"/chats/{chat_id}/messages", params={"before": 10**6}), 403, "install_required"
        )
        client.cookies.set("wapipe_session", kept_cookie, domain="wapipe.test", path="/chats")
        refused(await client.get(f"/chats/{chat_id}/media/1"), 403, "install_required")
        client.cookies.set("wapipe_session", kept_cookie, domain="wapipe.test", path="/chats")
        reply = await client.post(
            f"/chats/{chat_id}/reply", data={"text": "Noch da?", "client_ref": ref, "csrf_token": token}
        )
        refused(reply, 403, "install_required")
        assert await world.outbox() == []

        # Installing again does not bring the old session back: a new sign-in makes a new one.
        await world.install(nick)
        client.cookies.set("wapipe_session", kept_cookie, domain="wapipe.test", path="/chats")
        again = await client.get(f"/chats/{chat_id}")
        assert again.status_code == 303 and again.headers["location"].startswith("/signin?next=")
        client.cookies.set("wapipe_session", kept_cookie, domain="wapipe.test", path="/chats")
        stale = await client.get(f"/chats/{chat_id}/messages", params={"before": 10**6})
        assert stale.status_code == 401 and 'data-reason="session_ended"' in stale.text
        assert (await sign_in(world, client, nick, chat_id)).status_code == 303
        assert (await client.get(f"/chats/{chat_id}")).status_code == 200


async def test_an_uninstall_of_a_colleague_leaves_other_sessions_alone(world: PanelWorld) -> None:
    chat_id = await chat(world)
    nick = await member(world)
    async with browser(world) as anna, browser(world) as nicks:
        assert (await sign_in(world, anna, world.anna, chat_id)).status_code == 303
        assert (await sign_in(world, nicks, nick, chat_id)).status_code == 303
        await world.uninstall_in_pipedrive(nick)
        assert (await anna.get(f"/chats/{chat_id}")).status_code == 200
        assert (await nicks.get(f"/chats/{chat_id}")).status_code == 403


# --- login CSRF: the sign-in belongs to the browser that started it -------------------------------------


def nonce_cookie(answer: httpx.Response) -> str:
    [raw] = [
        value
        for key, value in answer.headers.multi_items()
        if key == "set-cookie" and "wapipe_signin=" in value
    ]
    return raw


async def test_signin_sets_a_short_lived_httponly_nonce_cookie_for_the_callback_only(
    world: PanelWorld,
) -> None:
    async with browser(world) as client:
        answer = await client.get("/signin", params={"next": "/chats/1"})
    raw = nonce_cookie(answer)
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in raw.split(";")[1:]}
    assert attributes["path"] == "Path=/oauth/callback"
    assert attributes["max-age"] == "Max-Age=600"
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=lax"
    assert "secure" not in attributes  # outside production only, as the session cookie
    nonce = raw.split(";")[0].split("=", 1)[1]
    state = parse_qs(urlparse(answer.headers["location"]).query)["state"][0]
    data = URLSafeTimedSerializer(
        world.settings.secret_key.get_secret_value(), salt="wapipe.signin.state"
    ).loads(state)
    assert nonce not in state  # the state carries only a digest of the browser's nonce
    assert data["browser"] == hashlib.sha256(nonce.encode()).hexdigest()


async def test_a_callback_completed_in_another_browser_is_refused(world: PanelWorld) -> None:
    chat_id = await chat(world)
    async with browser(world) as attacker, browser(world) as victim:
        # The attacker starts a sign-in and authorises it as themselves; the victim's browser is sent
        # to the callback (a link or a redirect the attacker controls).
        callback_url = await world.authorize(world.anna, state=await start(attacker, chat_id))
        without_cookie = await victim.get(callback_url)
        assert without_cookie.status_code == 403
        assert 'data-reason="signin_browser_mismatch"' in without_cookie.text
        assert "wapipe_session" not in victim.cookies

        await start(victim, chat_id)  # the victim has a nonce cookie of their own sign-in
        other_url = await world.authorize(world.anna, state=await start(attacker, chat_id))
        with_other = await victim.get(other_url)
        assert with_other.status_code == 403 and 'data-reason="signin_browser_mismatch"' in with_other.text
        assert "wapipe_session" not in victim.cookies
        assert (await victim.get(f"/chats/{chat_id}")).status_code == 303


async def test_a_sign_in_state_is_used_once(world: PanelWorld) -> None:
    chat_id = await chat(world)
    async with browser(world) as client:
        state = await start(client, chat_id)
        nonce = client.cookies["wapipe_signin"]
        first = await client.get(await world.authorize(world.anna, state=state))
        assert first.status_code == 303 and "wapipe_signin" not in client.cookies  # the nonce is spent
        client.cookies.set("wapipe_signin", nonce, domain="wapipe.test", path="/oauth/callback")
        replay = await client.get(await world.authorize(world.anna, state=state))
        assert replay.status_code == 403 and 'data-reason="state_replayed"' in replay.text
