"""An installation's credentials: fresh access tokens, one refresh at a time, every refresh persisted.

Pipedrive invalidates a refresh token once it has been exchanged, so two concurrent refreshes for the same
installation leave one of them holding a dead token. Refreshes therefore run under a per-installation lock
(:class:`RefreshLock`: :class:`LocalRefreshLocks` in one process, ``server.jobs.refresh_lock_redis`` across
the workers of a deployment on Redis), and after taking the lock we re-read the newest stored token set
(``load_latest``) before deciding a refresh is still needed.

A refresh can still lose a race (the lock expired under a slow holder, or a process outside the lock refreshed
first): Pipedrive then answers invalid grant (``NeedsReauth``). Before giving up we re-read the stored tokens
once more; if they changed since the set we refreshed with, someone else refreshed, and we use theirs. Only
when the stored tokens are still the refused ones is ``on_refused`` awaited and ``NeedsReauth`` raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Protocol

from server.domain.errors import NeedsReauth
from server.pipedrive.oauth import Clock, TokenSet, utc_now

REFRESH_MARGIN = timedelta(minutes=5)

OnRefreshed = Callable[[TokenSet], Awaitable[None]]
LoadLatest = Callable[[], Awaitable[TokenSet | None]]
OnRefused = Callable[[NeedsReauth], Awaitable[None]]


class TokenRefresher(Protocol):
    async def refresh(self, refresh_token: str) -> TokenSet: ...


class RefreshLock(Protocol):
    """Mutual exclusion for refreshing one installation's tokens."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while refreshing ``key``'s tokens; waits while someone else holds it."""
        ...


class TokenSource(Protocol):
    """What the API client needs: a usable token set, and a new one after a 401."""

    async def current(self) -> TokenSet: ...

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet: ...


class LocalRefreshLocks:
    """One ``asyncio.Lock`` per installation, for a single process."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            yield


class InstallationTokens:
    """Credentials of one installation, refreshed shortly before expiry and after a rejected call.

    ``on_refreshed`` is awaited with every new token set before it is used, so the new refresh token and
    ``api_domain`` are stored even if the caller crashes right after. If it raises, the refresh fails.
    ``on_refused`` is awaited when Pipedrive refuses the refresh token and no newer stored set replaced it,
    just before ``NeedsReauth`` is raised (the connector marks the installation there).
    """

    def __init__(
        self,
        installation_key: str,
        tokens: TokenSet,
        *,
        oauth: TokenRefresher,
        on_refreshed: OnRefreshed,
        lock: RefreshLock,
        load_latest: LoadLatest | None = None,
        on_refused: OnRefused | None = None,
        margin: timedelta = REFRESH_MARGIN,
        clock: Clock = utc_now,
    ) -> None:
        self.installation_key = installation_key
        self._tokens = tokens
        self._oauth = oauth
        self._on_refreshed = on_refreshed
        self._lock = lock
        self._load_latest = load_latest
        self._on_refused = on_refused
        self._margin = margin
        self._clock = clock

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    async def current(self) -> TokenSet:
        """A token set valid for at least the margin, refreshing first if needed."""
        if not self._tokens.expires_within(self._margin, self._clock()):
            return self._tokens
        return await self._refresh_unless(
            lambda latest: not latest.expires_within(self._margin, self._clock())
        )

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet:
        """A new token set after Pipedrive answered 401 to ``rejected``'s access token.

        If another caller already replaced that token, its result is reused instead of refreshing again.
        """
        return await self._refresh_unless(lambda latest: latest.access_token != rejected.access_token)

    async def _refresh_unless(self, still_good: Callable[[TokenSet], bool]) -> TokenSet:
        async with self._lock.hold(self.installation_key):
            latest = await self._latest()
            if still_good(latest):
                self._tokens = latest
                return latest
            try:
                fresh = await self._oauth.refresh(latest.refresh_token)
            except NeedsReauth as refused:
                return await self._after_refusal(latest, refused)
            await self._on_refreshed(fresh)
            self._tokens = fresh
            return fresh

    async def _after_refusal(self, used: TokenSet, refused: NeedsReauth) -> TokenSet:
        """Another process's newer stored tokens if it refreshed first, else ``NeedsReauth``."""
        stored = None if self._load_latest is None else await self._load_latest()
        if stored is not None and stored.refresh_token != used.refresh_token:
            self._tokens = stored
            return stored
        if self._on_refused is not None:
            await self._on_refused(refused)
        raise refused

    async def _latest(self) -> TokenSet:
        if self._load_latest is None:
            return self._tokens
        stored = await self._load_latest()
        if stored is None or stored.expires_at < self._tokens.expires_at:
            return self._tokens
        return stored
