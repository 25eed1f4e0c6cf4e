"""The chat view's sign-in, session cookie and CSRF tokens, pinned down one rule at a time.

Every expectation is computed here with itsdangerous and the documented salts, lifetimes and cookie
attributes, not with the module's own helpers, so a changed salt, lifetime, attribute or message shows.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from server.crypto import SecretBox
from server.domain.errors import NotAuthenticated, WaPipeError
from server.domain.installations import StoredTokens
from server.pipedrive.models import CurrentUser
from server.pipedrive.oauth import TokenSet
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.web import session

SECRET = "session-test-secret"
TWELVE_HOURS = 12 * 60 * 60
PIPEDRIVE_COMPANY = 7001
PIPEDRIVE_USER = 42


def serializer(salt: str, *, age: int = 0, secret: str = SECRET) -> URLSafeTimedSerializer:
    """What the chat view signs with, made ``age`` seconds ago."""

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(secret, salt=salt, signer=Signer)


def session_cookie(data: Any, *, age: int = 0, salt: str = "wapipe.session") -> str:
    return str(serializer(salt, age=age).dumps(data))


def csrf(data: Any, *, age: int = 0, salt: str = "wapipe.csrf", secret: str = SECRET) -> str:
    return str(serializer(salt, age=age, secret=secret).dumps(data))


@dataclass
class FakeOAuth:
    user: CurrentUser | None = None
    refusal: WaPipeError | None = None
    codes: list[str] = field(default_factory=list)

    def authorize_url(self, state: str) -> str:
        return "https://oauth.pipedrive.test/oauth/authorize?state=" + state

    async def exchange_code(self, code: str) -> TokenSet:
        self.codes.append(code)
        if self.refusal is not None:
            raise self.refusal
        return TokenSet("access", "refresh", datetime(2030, 1, 1, tzinfo=UTC), frozenset(), "https://x.test")

    async def identify(self, tokens: TokenSet) -> CurrentUser:
        assert tokens.access_token == "access"
        assert self.user is not None
        return self.user


def pipedrive_user(name: str = "Anna Schmidt") -> CurrentUser:
    return CurrentUser(
        id=PIPEDRIVE_USER,
        company_id=PIPEDRIVE_COMPANY,
        name=name,
        email="anna@example.com",
        company_name="Acme",
        company_domain="acme",
        timezone_name="Europe/Berlin",
        is_admin=False,
    )


def resources(
    *, engine: Any = None, oauth: FakeOAuth | None = None, production: bool = False
) -> SimpleNamespace:
    settings = SimpleNamespace(secret_key=SecretStr(SECRET), is_production=production)
    installations = None
    if engine is not None:
        installations = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    return SimpleNamespace(
        settings=settings,
        engine=engine,
        pipedrive=SimpleNamespace(oauth=oauth, installations=installations),
    )


def request(
    held: SimpleNamespace, *, query: str = "", cookie: str | None = None, nonce: str | None = None
) -> Request:
    cookies = []
    if cookie is not None:
        cookies.append(f"{session.COOKIE}={cookie}")
    if nonce is not None:
        cookies.append(f"{session.NONCE_COOKIE}={nonce}")
    headers = [(b"cookie", "; ".join(cookies).encode())] if cookies else []
    app = SimpleNamespace(state=SimpleNamespace(resources=held))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/signin",
        "query_string": query.encode(),
        "headers": headers,
        "app": app,
    }
    return Request(scope)


def set_cookie(response: Response, name: str = session.COOKIE) -> tuple[str, dict[str, str]]:
    """A cookie's value and its attributes, lower-cased, as the browser receives them."""
    [raw] = [v for k, v in response.headers.items() if k == "set-cookie" and v.startswith(f"{name}=")]
    jar = SimpleCookie()
    jar.load(raw)
    morsel = jar[name]
    flags = {part.strip().lower() for part in raw.split(";")[1:]}
    attributes = {key: str(morsel[key]) for key in ("max-age", "path", "samesite") if morsel[key]}
    attributes.update({flag: "yes" for flag in ("httponly", "secure") if flag in flags})
    return morsel.value, attributes


def test_the_names_and_lifetime_are_the_documented_ones() -> None:
    assert session.COOKIE == "wapipe_session"
    assert session.COOKIE_PATH == "/chats"
    assert session.SESSION_SECONDS == TWELVE_HOURS
    assert session.SIGNIN_PATH == "/signin"
    assert session.SIGNIN_PURPOSE == "signin"
    assert session.NONCE_COOKIE == "wapipe_signin"
    assert session.INSTALL_PATH == "/install"


@pytest.mark.parametrize("path", ["/chats/5", "/chats/0", "/chats/123456789012"])
def test_safe_next_keeps_the_chat_view_paths(path: str) -> None:
    assert session.safe_next(path) == path


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "/",
        "/chats/",
        "/chats",
        "/chats/1234567890123",
        "/chats/5/",
        "/chats/5x",
        "x/chats/5",
        "/chats/five",
        "//evil.example/chats/5",
        "https://evil.example/chats/5",
        "/CHATS/5",
    ],
)
def test_safe_next_sends_anything_else_home(value: str | None) -> None:
    assert session.safe_next(value) == "/"


def test_no_cookie_is_no_user() -> None:
    assert session.current_user(request(resources())) is None
    assert session.current_user(request(resources(), cookie="")) is None


def test_a_fresh_cookie_names_the_user_and_the_epoch_it_began_in() -> None:
    cookie = session_cookie({"c": 3, "u": 42, "n": "Anna", "e": 5})
    found = session.current_user(request(resources(), cookie=cookie))
    assert found == session.SessionUser(3, 42, "Anna", 5)


def test_a_cookie_without_a_name_has_an_empty_one() -> None:
    cookie = session_cookie({"c": 3, "u": 42, "e": 0})
    assert session.current_user(request(resources(), cookie=cookie)) == session.SessionUser(3, 42, "", 0)


def test_a_cookie_lasts_twelve_hours_and_not_a_second_more() -> None:
    almost = session_cookie({"c": 3, "u": 42, "n": "Anna", "e": 0}, age=TWELVE_HOURS - 5)
    assert session.current_user(request(resources(), cookie=almost)) == session.SessionUser(3, 42, "Anna")
    stale = session_cookie({"c": 3, "u": 42, "n": "Anna", "e": 0}, age=TWELVE_HOURS + 5)
    assert session.current_user(request(resources(), cookie=stale)) is None


FORGED_OR_INCOMPLETE: dict[str, Callable[[], str]] = {
    "csrf salt": lambda: session_cookie({"c": 3, "u": 42}, salt="wapipe.csrf"),  # a CSRF token is no session
    "default salt": lambda: session_cookie({"c": 3, "u": 42}, salt="itsdangerous"),
    "other secret": lambda: str(
        URLSafeTimedSerializer("another-secret", salt="wapipe.session").dumps({"c": 3, "u": 42})
    ),
    "not signed": lambda: "not-signed-at-all",
    "no company": lambda: session_cookie({"u": 42, "e": 0}),
    "no user": lambda: session_cookie({"c": 3, "e": 0}),
    "no epoch (made before sessions had one)": lambda: session_cookie({"c": 3, "u": 42}),
    "epoch not a number": lambda: session_cookie({"c": 3, "u": 42, "e": "new"}),
    "company not a number": lambda: session_cookie({"c": "three", "u": 42, "e": 0}),
    "user null": lambda: session_cookie({"c": 3, "u": None, "e": 0}),
    "a list": lambda: session_cookie(["c", "u"]),
}


# Signed values are built inside the test: built at collection they would carry the second they
# were signed in their ids, and parallel workers would collect different tests.
@pytest.mark.parametrize("case", sorted(FORGED_OR_INCOMPLETE))
def test_a_forged_or_incomplete_cookie_is_no_user(case: str) -> None:
    cookie = FORGED_OR_INCOMPLETE[case]()
    assert session.current_user(request(resources(), cookie=cookie)) is None


def test_signin_redirect_carries_the_path_to_return_to() -> None:
    response = session.signin_redirect("/chats/5")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fchats%2F5"


def digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


@pytest.mark.parametrize("production", [False, True])
async def test_signin_sends_the_user_to_pipedrive_with_a_state_bound_to_the_browser(production: bool) -> None:
    oauth = FakeOAuth()
    response = await session.signin(
        request(resources(oauth=oauth, production=production), query="next=%2Fchats%2F5")
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://oauth.pipedrive.test/oauth/authorize?state=")
    state = parse_qs(urlsplit(location).query)["state"][0]
    data = URLSafeTimedSerializer(SECRET, salt="wapipe.signin.state").loads(state)
    assert data["purpose"] == "signin" and data["next"] == "/chats/5"
    nonce, attributes = set_cookie(response, session.NONCE_COOKIE)
    expected = {"max-age": "600", "path": "/oauth/callback", "samesite": "lax", "httponly": "yes"}
    assert attributes == ({**expected, "secure": "yes"} if production else expected)
    # 32 random bytes, in URL-safe base64 without padding: 43 characters
    assert len(nonce) == 43 and re.fullmatch(r"[A-Za-z0-9_-]+", nonce) and nonce not in state
    assert data["browser"] == digest(nonce)


async def test_every_signin_has_a_nonce_of_its_own() -> None:
    first = await session.signin(request(resources(oauth=FakeOAuth())))
    second = await session.signin(request(resources(oauth=FakeOAuth())))
    assert set_cookie(first, session.NONCE_COOKIE)[0] != set_cookie(second, session.NONCE_COOKIE)[0]


async def test_signin_never_carries_a_foreign_next() -> None:
    response = await session.signin(
        request(resources(oauth=FakeOAuth()), query="next=https%3A%2F%2Fevil.example")
    )
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    assert URLSafeTimedSerializer(SECRET, salt="wapipe.signin.state").loads(state)["next"] == "/"


def signin_state(data: dict[str, str], *, salt: str = "wapipe.signin.state") -> str:
    return str(URLSafeTimedSerializer(SECRET, salt=salt).dumps({"nonce": "n", **data}))


def test_signin_state_reads_a_signin_state() -> None:
    state = signin_state({"purpose": "signin", "next": "/chats/9"})
    found = session.signin_state(request(resources(), query=f"state={state}"))
    assert found == {"purpose": "signin", "next": "/chats/9"}


NOT_A_SIGNIN_STATE: dict[str, Callable[[], str]] = {
    "no state": lambda: "",
    "empty state": lambda: "state=",
    "garbage": lambda: "state=garbage",
    "install purpose": lambda: "state=" + signin_state({"purpose": "install", "next": "/chats/9"}),
    "no purpose": lambda: "state=" + signin_state({"next": "/chats/9"}),
    "oauth salt": lambda: "state=" + signin_state({"purpose": "signin"}, salt="wapipe.oauth.state"),
}


@pytest.mark.parametrize("case", sorted(NOT_A_SIGNIN_STATE))
def test_signin_state_is_none_for_anything_but_a_signin_state(case: str) -> None:
    query = NOT_A_SIGNIN_STATE[case]()
    assert session.signin_state(request(resources(), query=query)) is None


def test_problem_renders_the_reason_the_message_and_the_retry_link() -> None:
    response = session.problem(409, "some_reason", "Something to do.", retry_url="/signin?next=%2Fchats%2F1")
    body = bytes(response.body).decode()
    assert response.status_code == 409
    assert 'data-reason="some_reason"' in body
    assert "<p>Something to do.</p>" in body
    assert 'href="/signin?next=%2Fchats%2F1"' in body


def test_problem_without_a_retry_link_offers_none() -> None:
    body = bytes(session.problem(403, "forbidden", "No.").body).decode()
    assert "signin-again" not in body


@pytest.fixture
async def engine(migrated_sqlite: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_sqlite)
    yield engine
    await engine.dispose()


TOKENS = StoredTokens("access", "refresh", datetime(2030, 1, 1, tzinfo=UTC), frozenset(), "https://x.test")


async def install(engine: AsyncEngine, company_id: int, user_id: int, *, admin: bool = False) -> None:
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    await store.upsert(company_id, user_id, name="", email="", is_admin=admin, tokens=TOKENS)


async def installed_company(engine: AsyncEngine, *, installed: bool = False) -> int:
    """Acme (and another company first, so WaPipe's and Pipedrive's company ids differ); with
    ``installed``, the signing-in user's own installation, after an admin's."""
    await SqlCompanyStore(engine).upsert(999, name="Other", api_domain="", timezone="UTC")
    company = await SqlCompanyStore(engine).upsert(
        PIPEDRIVE_COMPANY, name="Acme", api_domain="", timezone="UTC"
    )
    assert company.id != PIPEDRIVE_COMPANY
    if installed:
        await install(engine, company.id, 7, admin=True)
        await install(engine, company.id, PIPEDRIVE_USER)
    return company.id


RETRY = 'href="/signin?next=%2Fchats%2F5"'


NONCE = "the-browsers-own-nonce"
SIGNIN = {"next": "/chats/5", "browser": digest(NONCE)}


def spent(response: Response, *, production: bool = False) -> bool:
    """The answer deletes the browser's nonce cookie (on the callback's path), with the attributes it was
    set with: HttpOnly, SameSite=Lax, Secure in production."""
    value, attributes = set_cookie(response, session.NONCE_COOKIE)
    expected = {"max-age": "0", "path": "/oauth/callback", "samesite": "lax", "httponly": "yes"}
    return value == "" and attributes == ({**expected, "secure": "yes"} if production else expected)


MISMATCHED: dict[str, tuple[str | None, dict[str, str]]] = {
    "no nonce cookie": (None, SIGNIN),
    "another browser's nonce": ("someone-elses-nonce", SIGNIN),
    "an empty nonce": ("", SIGNIN),
    "a state without the browser": (NONCE, {"next": "/chats/5"}),
    "the nonce itself in the state": (NONCE, {"next": "/chats/5", "browser": NONCE}),
    # SHA-256 of the empty string: an empty cookie matches nothing, not even the digest of nothing
    "an empty nonce and the digest of an empty one": (
        "",
        {"next": "/chats/5", "browser": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    ),
    # without the cookie no state passes, whatever nonce its digest stands for
    "no nonce cookie, a state for the nonce None": (None, {"next": "/chats/5", "browser": digest("None")}),
    "no nonce cookie, a state for the nonce XXXX": (None, {"next": "/chats/5", "browser": digest("XXXX")}),
}


@pytest.mark.parametrize("case", sorted(MISMATCHED))
async def test_a_callback_in_another_browser_is_refused_before_the_code_is_used(
    case: str, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    nonce, data = MISMATCHED[case]
    oauth = FakeOAuth(user=pipedrive_user())
    await installed_company(engine, installed=True)
    caplog.set_level(logging.INFO, logger="server.web.session")
    response = await session.complete_signin(
        request(resources(engine=engine, oauth=oauth), query="code=abc", nonce=nonce), data
    )
    body = bytes(response.body).decode()
    assert response.status_code == 403
    assert 'data-reason="signin_browser_mismatch"' in body
    assert (
        "<p>This sign-in was not started in this browser, or it took too long. Sign in again here.</p>"
        in body
    )
    assert RETRY in body
    assert oauth.codes == [] and spent(response)
    assert not [
        v for k, v in response.headers.items() if k == "set-cookie" and v.startswith("wapipe_session")
    ]
    [record] = [r for r in caplog.records if r.name == "server.web.session"]
    assert (record.levelno, record.getMessage()) == (logging.INFO, "sign-in refused")
    assert record.__dict__["reason"] == "signin_browser_mismatch"


async def test_a_signin_state_is_used_once(engine: AsyncEngine) -> None:
    await installed_company(engine, installed=True)
    oauth = FakeOAuth(user=pipedrive_user())
    held = resources(engine=engine, oauth=oauth)
    first = await session.complete_signin(request(held, query="code=abc", nonce=NONCE), SIGNIN)
    assert first.status_code == 303 and spent(first)
    again = await session.complete_signin(request(held, query="code=def", nonce=NONCE), SIGNIN)
    body = bytes(again.body).decode()
    assert again.status_code == 403 and 'data-reason="state_replayed"' in body
    assert "<p>This sign-in was already completed once; sign in again.</p>" in body
    assert RETRY in body and spent(again)
    assert oauth.codes == ["abc"]


async def test_a_denied_signin_is_refused_with_a_retry_link(engine: AsyncEngine) -> None:
    oauth = FakeOAuth(user=pipedrive_user())
    held = resources(engine=engine, oauth=oauth)
    response = await session.complete_signin(
        request(held, query="error=access_denied&code=abc", nonce=NONCE), SIGNIN
    )
    body = bytes(response.body).decode()
    assert response.status_code == 403
    assert 'data-reason="signin_denied"' in body
    assert "<p>You did not allow the sign-in, so the chat stays closed.</p>" in body
    assert RETRY in body
    assert oauth.codes == [] and spent(response)


async def test_a_callback_without_a_code_is_refused_with_a_retry_link(engine: AsyncEngine) -> None:
    response = await session.complete_signin(
        request(resources(engine=engine, oauth=FakeOAuth()), nonce=NONCE), SIGNIN
    )
    body = bytes(response.body).decode()
    assert response.status_code == 400
    assert 'data-reason="missing_code"' in body
    assert "<p>Pipedrive sent no authorisation code; sign in again.</p>" in body
    assert RETRY in body


async def test_a_code_pipedrive_refuses_is_named_and_logged(
    caplog: pytest.LogCaptureFixture, engine: AsyncEngine
) -> None:
    oauth = FakeOAuth(refusal=NotAuthenticated("used", reason="invalid_code"))
    caplog.set_level(logging.INFO, logger="server.web.session")
    response = await session.complete_signin(
        request(resources(engine=engine, oauth=oauth), query="code=abc", nonce=NONCE), SIGNIN
    )
    body = bytes(response.body).decode()
    assert response.status_code == 400
    assert 'data-reason="invalid_code"' in body
    assert "<p>Pipedrive did not confirm who you are; sign in again.</p>" in body
    assert RETRY in body
    assert oauth.codes == ["abc"]
    [record] = [r for r in caplog.records if r.name == "server.web.session"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "sign-in failed"
    assert record.__dict__["reason"] == "invalid_code"


COMPANY_NOT_INSTALLED = (
    "<p>WaPipe is not installed in your Pipedrive company, or it was uninstalled. A Pipedrive admin must "
    "install it before chats can be opened here.</p>"
)
INSTALL_REQUIRED = (
    "<p>WaPipe is installed in your Pipedrive company, but not for you: each team member installs it once, "
    "for themselves. Install it for yourself with the link below, then open the chat again.</p>"
)
NEEDS_REAUTH = (
    "<p>Pipedrive no longer accepts WaPipe&#39;s authorisation for you: install WaPipe again (the link "
    "below), then open the chat again.</p>"
)


def no_session(response: Response) -> bool:
    return not [
        v for k, v in response.headers.items() if k == "set-cookie" and v.startswith("wapipe_session")
    ]


async def refusal_of(engine: AsyncEngine) -> tuple[Response, str]:
    held = resources(engine=engine, oauth=FakeOAuth(user=pipedrive_user()))
    response = await session.complete_signin(request(held, query="code=abc", nonce=NONCE), SIGNIN)
    return response, bytes(response.body).decode()


async def test_a_company_without_wapipe_is_refused_without_a_link(engine: AsyncEngine) -> None:
    await SqlCompanyStore(engine).upsert(999, name="Other", api_domain="", timezone="UTC")
    response, body = await refusal_of(engine)
    assert response.status_code == 403
    assert 'data-reason="company_not_installed"' in body and COMPANY_NOT_INSTALLED in body
    assert "signin-again" not in body and "install-wapipe" not in body
    assert no_session(response) and spent(response)


async def test_a_company_whose_installations_are_all_gone_is_refused_too(engine: AsyncEngine) -> None:
    company_id = await installed_company(engine, installed=True)
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    for user in (7, PIPEDRIVE_USER):
        await store.mark_uninstalled(company_id, user)
    response, body = await refusal_of(engine)
    assert response.status_code == 403 and 'data-reason="company_not_installed"' in body
    assert no_session(response)


async def test_a_company_with_only_a_members_installation_needs_an_admin_first(engine: AsyncEngine) -> None:
    company_id = await installed_company(engine)
    await install(engine, company_id, 8)  # a colleague, not an admin
    response, body = await refusal_of(engine)
    assert response.status_code == 403 and 'data-reason="company_not_installed"' in body


async def test_a_refused_signin_is_logged_with_its_reason_and_the_user(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    company_id = await installed_company(engine)
    await install(engine, company_id, 7, admin=True)
    caplog.set_level(logging.INFO, logger="server.web.session")
    response, _ = await refusal_of(engine)
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "server.web.session"]
    assert (record.levelno, record.getMessage()) == (logging.INFO, "sign-in refused")
    assert (record.__dict__["reason"], record.__dict__["pipedrive_user"]) == ("install_required", 42)


@pytest.mark.parametrize("own", ["none", "uninstalled"])
async def test_a_user_without_an_installation_of_an_installed_company_is_told_to_install(
    own: str, engine: AsyncEngine
) -> None:
    company_id = await installed_company(engine)
    await install(engine, company_id, 7, admin=True)
    if own == "uninstalled":
        await install(engine, company_id, PIPEDRIVE_USER)
        store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
        await store.mark_uninstalled(company_id, PIPEDRIVE_USER)
    response, body = await refusal_of(engine)
    assert response.status_code == 403
    assert 'data-reason="install_required"' in body and INSTALL_REQUIRED in body
    assert '<a href="/install" id="install-wapipe">Install WaPipe for yourself</a>' in body
    assert "signin-again" not in body
    assert no_session(response) and spent(response)


async def test_a_user_whose_installation_needs_reauthorisation_is_told_to_install_again(
    engine: AsyncEngine,
) -> None:
    company_id = await installed_company(engine, installed=True)
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    found = await store.get(company_id, PIPEDRIVE_USER)
    assert found is not None
    await store.mark_needs_reauth(found.id, "refresh token revoked")
    response, body = await refusal_of(engine)
    assert response.status_code == 403
    assert 'data-reason="needs_reauth"' in body and NEEDS_REAUTH in body and 'href="/install"' in body
    assert no_session(response)


async def test_a_signin_sets_the_session_cookie_and_returns_to_the_chat(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    company_id = await installed_company(engine, installed=True)
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    for _ in range(2):  # uninstalled twice, installed again: the session begins in epoch 2
        await store.mark_uninstalled(company_id, PIPEDRIVE_USER)
    await install(engine, company_id, PIPEDRIVE_USER)
    caplog.set_level(logging.INFO, logger="server.web.session")
    held = resources(engine=engine, oauth=FakeOAuth(user=pipedrive_user()))
    response = await session.complete_signin(request(held, query="code=abc", nonce=NONCE), SIGNIN)
    assert response.status_code == 303
    assert response.headers["location"] == "/chats/5"
    value, attributes = set_cookie(response)
    assert attributes == {
        "max-age": str(TWELVE_HOURS),
        "path": "/chats",
        "samesite": "lax",
        "httponly": "yes",
    }
    data = URLSafeTimedSerializer(SECRET, salt="wapipe.session").loads(value)
    assert data == {"c": company_id, "u": PIPEDRIVE_USER, "n": "Anna Schmidt", "e": 2}
    assert spent(response)
    [record] = [r for r in caplog.records if r.name == "server.web.session"]
    assert record.getMessage() == "signed in"
    assert (record.__dict__["company"], record.__dict__["pipedrive_user"]) == (company_id, PIPEDRIVE_USER)


async def test_in_production_the_cookie_is_secure_and_the_name_is_cut(engine: AsyncEngine) -> None:
    await installed_company(engine, installed=True)
    held = resources(engine=engine, oauth=FakeOAuth(user=pipedrive_user("N" * 150)), production=True)
    response = await session.complete_signin(
        request(held, query="code=abc", nonce=NONCE),
        {"next": "https://evil.example", "browser": digest(NONCE)},
    )
    assert response.headers["location"] == "/"
    value, attributes = set_cookie(response)
    assert attributes["secure"] == "yes"
    assert URLSafeTimedSerializer(SECRET, salt="wapipe.session").loads(value)["n"] == "N" * 100
    assert spent(response, production=True)


# --- every request: the session's installation, read again ---------------------------------------------


async def test_a_session_holds_while_its_installation_is_active_and_of_its_epoch(engine: AsyncEngine) -> None:
    company_id = await installed_company(engine, installed=True)
    cookie = session_cookie({"c": company_id, "u": PIPEDRIVE_USER, "n": "Anna", "e": 0})
    held = resources(engine=engine)
    user = await session.signed_in_user(request(held, cookie=cookie))
    assert user == session.SessionUser(company_id, PIPEDRIVE_USER, "Anna", 0)


async def test_without_a_session_sign_in_is_required(engine: AsyncEngine) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        await session.signed_in_user(request(resources(engine=engine)))
    assert refused.value.reason == "signin_required"
    assert refused.value.message == "Sign in with Pipedrive to open this chat."


async def test_an_uninstall_ends_the_session(engine: AsyncEngine) -> None:
    company_id = await installed_company(engine, installed=True)
    cookie = session_cookie({"c": company_id, "u": PIPEDRIVE_USER, "n": "Anna", "e": 0})
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    await store.mark_uninstalled(company_id, PIPEDRIVE_USER)
    with pytest.raises(WaPipeError) as refused:
        await session.signed_in_user(request(resources(engine=engine), cookie=cookie))
    assert refused.value.reason == "install_required"
    await install(engine, company_id, PIPEDRIVE_USER)  # installed again: the old session stays over
    with pytest.raises(NotAuthenticated) as ended:
        await session.signed_in_user(request(resources(engine=engine), cookie=cookie))
    assert ended.value.reason == "session_ended"
    assert ended.value.message == "WaPipe was uninstalled for you since you signed in; sign in again."
    newer = session_cookie({"c": company_id, "u": PIPEDRIVE_USER, "n": "Anna", "e": 1})
    assert (await session.signed_in_user(request(resources(engine=engine), cookie=newer))).epoch == 1


async def test_a_session_of_a_user_of_another_company_has_no_installation(engine: AsyncEngine) -> None:
    company_id = await installed_company(engine, installed=True)
    cookie = session_cookie({"c": company_id + 1, "u": PIPEDRIVE_USER, "n": "Anna", "e": 0})
    with pytest.raises(WaPipeError) as refused:
        await session.signed_in_user(request(resources(engine=engine), cookie=cookie))
    assert refused.value.reason == "company_not_installed"


def test_a_refused_session_loses_its_cookie_and_links_the_install_page_when_that_helps() -> None:
    from server.domain.errors import NotInstalled

    answer = session.refused_session(NotInstalled("Install it.", reason="install_required"))
    body = bytes(answer.body).decode()
    assert answer.status_code == 403 and 'data-reason="install_required"' in body
    assert "<p>Install it.</p>" in body
    assert 'id="install-wapipe"' in body
    value, attributes = set_cookie(answer)
    assert value == "" and attributes["max-age"] == "0" and attributes["path"] == "/chats"
    gone = session.refused_session(NotInstalled("An admin must.", reason="company_not_installed"))
    assert 'id="install-wapipe"' not in bytes(gone.body).decode()


USER = session.SessionUser(company_id=3, user_id=42, name="Anna")


def test_a_csrf_token_is_signed_for_the_company_and_user() -> None:
    token = session.csrf_token(request(resources()), USER)
    assert URLSafeTimedSerializer(SECRET, salt="wapipe.csrf").loads(token) == {"c": 3, "u": 42}


def test_the_users_own_fresh_token_passes() -> None:
    session.check_csrf(request(resources()), USER, csrf({"c": 3, "u": 42}))
    session.check_csrf(request(resources()), USER, csrf({"c": 3, "u": 42}, age=TWELVE_HOURS - 5))


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_token_is_named(token: str | None) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        session.check_csrf(request(resources()), USER, token)
    assert refused.value.reason == "csrf_missing"
    assert refused.value.message == "The form carried no security token; reload the page"


INVALID: dict[str, Callable[[], str]] = {
    "expired": lambda: csrf({"c": 3, "u": 42}, age=TWELVE_HOURS + 5),
    "other salt": lambda: csrf({"c": 3, "u": 42}, salt="itsdangerous"),
    "session salt": lambda: csrf({"c": 3, "u": 42}, salt="wapipe.session"),
    "other secret": lambda: csrf({"c": 3, "u": 42}, secret="another-secret"),
    "garbage": lambda: "garbage",
    "other company": lambda: csrf({"c": 4, "u": 42}),
    "other user": lambda: csrf({"c": 3, "u": 43}),
    "no company": lambda: csrf({"u": 42}),
    "no user": lambda: csrf({"c": 3}),
    "not a dict": lambda: csrf([3, 42]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_token_is_named(case: str) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        session.check_csrf(request(resources()), USER, INVALID[case]())
    assert refused.value.reason == "csrf_invalid"
    assert refused.value.message == "The form's security token is not valid; reload the page"
