"""Pipedrive OAuth 2.0: authorize URL with a signed state, code exchange, refresh, revoke, identity.

The token endpoint takes form-encoded bodies and HTTP Basic client authentication. Who installed the app
is always read from ``GET {api_domain}/api/v1/users/me``, never parsed out of the access token (its format
changed in 2023 and is opaque).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from server.domain.errors import NeedsReauth, NotAuthenticated, Permanent, Transient
from server.domain.text import Text
from server.pipedrive.errors import pipedrive_error, response_json
from server.pipedrive.models import CurrentUser

DEFAULT_OAUTH_URL = "https://oauth.pipedrive.com"
STATE_MAX_AGE = 600
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenSet:
    """One installation's OAuth credentials. ``repr`` never shows the tokens."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: frozenset[str]
    api_domain: str

    def __repr__(self) -> str:
        return f"TokenSet(api_domain={self.api_domain!r}, expires_at={self.expires_at.isoformat()})"

    def expires_within(self, margin: timedelta, now: datetime) -> bool:
        return self.expires_at - margin <= now

    @classmethod
    def from_token_response(cls, body: Mapping[str, Any], now: datetime) -> TokenSet:
        """Parse the token endpoint's JSON; raise ``Transient`` if a required field is missing."""
        access = body.get("access_token")
        refresh = body.get("refresh_token")
        api_domain = body.get("api_domain")
        expires_in = body.get("expires_in")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise Transient(Text("Pipedrive's token response had no tokens"), reason="oauth_bad_response")
        if not (isinstance(api_domain, str) and api_domain.startswith("http")):
            raise Transient(Text("Pipedrive's token response had no api_domain"), reason="oauth_bad_response")
        seconds = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 3599
        scope = body.get("scope")
        scopes = (
            frozenset(s.strip() for s in scope.split(",") if s.strip())
            if isinstance(scope, str)
            else frozenset()
        )
        return cls(
            access_token=access,
            refresh_token=refresh,
            expires_at=now + timedelta(seconds=seconds),
            scopes=scopes,
            api_domain=api_domain.rstrip("/"),
        )


class StateSigner:
    """Signed, expiring OAuth ``state`` values (CSRF protection for the install flow)."""

    def __init__(
        self, secret: str, *, max_age: int = STATE_MAX_AGE, salt: str = "wapipe.oauth.state"
    ) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=salt)
        self._max_age = max_age

    def issue(self, data: Mapping[str, str] | None = None) -> str:
        """A state carrying ``data`` (e.g. where to go after install) and a fresh nonce."""
        payload = {"nonce": secrets.token_urlsafe(16), **(data or {})}
        return str(self._serializer.dumps(payload))

    def verify(self, state: str | None) -> dict[str, str]:
        """The data inside ``state``; ``NotAuthenticated`` with ``invalid_state`` or ``expired_state``."""
        return self.read(state)[1]

    def read(self, state: str | None) -> tuple[str, dict[str, str]]:
        """``(nonce, data)`` of ``state`` (the nonce tells one state from every other, for single use);
        the same refusals as ``verify``."""
        if not state:
            raise NotAuthenticated(
                Text("The install link carried no state; start the installation again"),
                reason="invalid_state",
            )
        try:
            payload = self._serializer.loads(state, max_age=self._max_age)
        except SignatureExpired as error:
            raise NotAuthenticated(
                Text("The install link expired; start the installation again"), reason="expired_state"
            ) from error
        except BadSignature as error:
            raise NotAuthenticated(
                Text("The install link was not issued by this server; start again"), reason="invalid_state"
            ) from error
        if not isinstance(payload, dict) or not isinstance(payload.get("nonce"), str):
            raise NotAuthenticated(Text("The install link is malformed; start again"), reason="invalid_state")
        return payload["nonce"], {str(k): str(v) for k, v in payload.items() if k != "nonce"}


class PipedriveOAuth:
    """Talks to Pipedrive's OAuth server with the app's client credentials, over a shared client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        oauth_url: str = DEFAULT_OAUTH_URL,
        clock: Clock = utc_now,
    ) -> None:
        self._http = http
        self._client_id = client_id
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._redirect_uri = redirect_uri
        self._oauth_url = oauth_url.rstrip("/")
        self._clock = clock

    def authorize_url(self, state: str) -> str:
        query = urlencode({"client_id": self._client_id, "redirect_uri": self._redirect_uri, "state": state})
        return f"{self._oauth_url}/oauth/authorize?{query}"

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade the callback's ``code``; ``NotAuthenticated(invalid_code)`` if it expired or was used."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self._redirect_uri}
        try:
            return await self._token_request(form)
        except _InvalidGrant as error:
            raise NotAuthenticated(
                Text("The authorisation code expired or was already used; install the app again"),
                reason="invalid_code",
            ) from error

    async def refresh(self, refresh_token: str) -> TokenSet:
        """A new token set; ``NeedsReauth`` when the refresh token is invalid, expired or already used."""
        try:
            return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
        except _InvalidGrant as error:
            raise NeedsReauth(
                Text("Pipedrive no longer accepts this installation's refresh token; reinstall the app")
            ) from error

    async def revoke(self, token: str, *, hint: str = "refresh_token") -> None:
        """Revoke a token (revoking the refresh token uninstalls the app for that user)."""
        try:
            response = await self._http.post(
                f"{self._oauth_url}/oauth/revoke",
                data={"token": token, "token_type_hint": hint},
                auth=self._auth,
            )
        except httpx.HTTPError as error:
            raise pipedrive_error(error) from error
        if not response.is_success:
            raise pipedrive_error(response, now=self._clock())

    async def identify(self, tokens: TokenSet) -> CurrentUser:
        """Who these tokens belong to, from ``/users/me`` on the token's api_domain."""
        try:
            response = await self._http.get(
                f"{tokens.api_domain}/api/v1/users/me",
                headers={"Authorization": f"Bearer {tokens.access_token}"},
            )
        except httpx.HTTPError as error:
            raise pipedrive_error(error) from error
        if not response.is_success:
            raise pipedrive_error(response, now=self._clock())
        body = response_json(response)
        data = body.get("data") if body else None
        if not isinstance(data, dict) or not data.get("id") or not data.get("company_id"):
            raise Transient(Text("Pipedrive's /users/me answer had no user"), reason="oauth_bad_response")
        return CurrentUser.parse(data)

    async def _token_request(self, form: Mapping[str, str]) -> TokenSet:
        try:
            response = await self._http.post(
                f"{self._oauth_url}/oauth/token", data=dict(form), auth=self._auth
            )
        except httpx.HTTPError as error:
            raise pipedrive_error(error) from error
        body = response_json(response)
        if response.is_success and body is not None:
            return TokenSet.from_token_response(body, self._clock())
        if response.status_code in (400, 401):
            detail = _oauth_error_text(body)
            if "invalid_grant" in detail.lower().replace(" ", "_"):
                raise _InvalidGrant(detail)
            if "invalid_client" in detail.lower().replace(" ", "_"):
                raise Permanent(
                    Text("Pipedrive rejected the app's client id/secret; check the configuration"),
                    reason="oauth_client_invalid",
                )
        if response.is_success:
            raise Transient(Text("Pipedrive's token response was not JSON"), reason="oauth_bad_response")
        raise pipedrive_error(response, now=self._clock())


class _InvalidGrant(Exception):
    """The token endpoint refused the grant (code or refresh token)."""


def _oauth_error_text(body: Mapping[str, Any] | None) -> str:
    if not body:
        return ""
    parts = [body.get(key) for key in ("error", "message", "error_description")]
    return " ".join(p for p in parts if isinstance(p, str))
