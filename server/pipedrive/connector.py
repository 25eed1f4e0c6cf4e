"""Ready Pipedrive clients for a company's sync (its admin installation) and for one panel user.

    client = await connector.for_company(company_id)          # NotInstalled / NeedsReauth
    client = await connector.for_user(company_id, user_id)    # the same errors, for that user

Every refresh is stored (encrypted, with the new ``api_domain``) before the new token is used; a refresh
token Pipedrive no longer accepts marks the installation ``needs_reauth``. Refreshes of one installation
are serialised by the :class:`RefreshLock` (on Redis, across every worker) and re-read the newest stored
tokens first, so several workers holding the same installation do not spend its refresh token twice; a
refresh refused because another process spent the token first uses that process's stored tokens instead of
marking the installation.
"""

from __future__ import annotations

import asyncio

import httpx

from server.domain.errors import NeedsReauth, NotInstalled
from server.domain.installations import Installation, InstallationStatus, StoredTokens
from server.domain.ports.storage import ConnectorStore
from server.domain.text import Text
from server.pipedrive.client import PipedriveClient
from server.pipedrive.metering import UsageMeter
from server.pipedrive.oauth import Clock, TokenSet, utc_now
from server.pipedrive.ratelimit import RateLimiter, RateScope, Sleep
from server.pipedrive.tokens import InstallationTokens, RefreshLock, TokenRefresher


def token_set(stored: StoredTokens) -> TokenSet:
    return TokenSet(
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        expires_at=stored.expires_at,
        scopes=stored.scopes,
        api_domain=stored.api_domain,
    )


def stored_tokens(tokens: TokenSet) -> StoredTokens:
    return StoredTokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        scopes=tokens.scopes,
        api_domain=tokens.api_domain,
    )


def installation_key(installation_id: int) -> str:
    """The refresh-lock and burst-window key of an installation."""
    return f"installation:{installation_id}"


class PipedriveConnector:
    """Builds :class:`PipedriveClient` instances over one shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        oauth: TokenRefresher,
        store: ConnectorStore,
        lock: RefreshLock,
        *,
        limiter: RateLimiter | None = None,
        meter: UsageMeter | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._sleep = sleep  # how a call waits before retrying (a test's clock skips the time)
        self._http = http
        self._oauth = oauth
        self._store = store
        self._lock = lock
        self._limiter = limiter
        self._meter = meter
        self._clock = clock

    def __repr__(self) -> str:
        return "PipedriveConnector()"

    async def for_company(self, company_id: int) -> PipedriveClient:
        """The client of the company's admin installation, which runs its sync.

        ``NotInstalled`` when no admin has installed WaPipe (or all uninstalled); ``NeedsReauth`` when the
        admin installation's refresh token stopped working.
        """
        installation = await self._store.admin_installation(company_id)
        if installation is None:
            raise NotInstalled(
                Text("No Pipedrive admin has installed WaPipe for this company; an admin must install it")
            )
        return await self._client(installation)

    async def for_user(self, company_id: int, pipedrive_user_id: int) -> PipedriveClient:
        """The client of one user's own installation (their panel); the same errors as ``for_company``."""
        installation = await self._store.get(company_id, pipedrive_user_id)
        if installation is None or installation.status is InstallationStatus.UNINSTALLED:
            raise NotInstalled(
                Text("You have not installed WaPipe in Pipedrive yet; install it to use the panel")
            )
        return await self._client(installation)

    async def _client(self, installation: Installation) -> PipedriveClient:
        if installation.status is InstallationStatus.NEEDS_REAUTH:
            if installation.name:
                refused = Text(
                    "Pipedrive no longer accepts WaPipe's authorisation for %(name)s; install WaPipe again "
                    "to re-authorise it",
                    name=installation.name,
                )
            else:
                refused = Text(
                    "Pipedrive no longer accepts WaPipe's authorisation for this user; install WaPipe again "
                    "to re-authorise it"
                )
            raise NeedsReauth(refused)
        stored = await self._store.tokens(installation.id)
        if stored is None:
            raise NotInstalled(Text("WaPipe was uninstalled for this user; install it again"))
        store = self._store
        installation_id = installation.id

        async def on_refreshed(fresh: TokenSet) -> None:
            await store.save_tokens(installation_id, stored_tokens(fresh))

        async def load_latest() -> TokenSet | None:
            latest = await store.tokens(installation_id)
            return None if latest is None else token_set(latest)

        async def on_refused(error: NeedsReauth) -> None:
            await store.mark_needs_reauth(installation_id, error.message)

        key = installation_key(installation.id)
        tokens = InstallationTokens(
            key,
            token_set(stored),
            oauth=self._oauth,
            on_refreshed=on_refreshed,
            lock=self._lock,
            load_latest=load_latest,
            on_refused=on_refused,
            clock=self._clock,
        )
        scope = RateScope(token_key=key, company_key=str(installation.company_id))
        return PipedriveClient(
            self._http, tokens, scope, limiter=self._limiter, meter=self._meter, sleep=self._sleep
        )
