"""The session host: runs the embedded WhatsApp sessions inside a worker, each held by exactly one worker
through its lease (``server.domain.ports.sessions``).

Every ``session_lease_poll`` it lists the numbers whose sessions run embedded, leases the ones nobody
holds and starts their connections through the ``ConnectionFactory``. Every ``session_lease_renew`` it
renews the leases it holds. Its contract:

- a connection runs only under a lease this host holds: when a renew is refused (the lease expired or
  another worker took it), fails, or comes too late (the host's own deadline, the lease's length after its
  last renew, has passed), the connection is stopped at once, before anything else, so two workers never
  run the same session;
- a number that is no longer listed (logged out, unlinked) has its connection stopped and its lease
  released;
- a connection that cannot start gives its lease back, and the next look tries again;
- ``stop`` (the worker shutting down) stops every connection and releases every lease, so another worker
  takes the sessions over at its next look instead of after the lease runs out.

The waits are ``JobTimings`` and the time is the injected clock: tests call ``step`` and move the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from server.domain.clock import Clock
from server.domain.models import Account
from server.domain.ports.sessions import Connection, ConnectionFactory, SessionLease, SessionLeases
from server.jobs.timing import JobTimings

log = logging.getLogger(__name__)

ListAccounts = Callable[[], Awaitable[Sequence[Account]]]


class WatchedAccounts(Protocol):
    async def watched(self) -> list[Account]: ...


def accounts_on(accounts: WatchedAccounts, transport: str) -> ListAccounts:
    """The numbers on ``transport`` whose session may run (not logged out or unlinked), of every company:
    the sessions a host runs."""

    async def listed() -> list[Account]:
        return [account for account in await accounts.watched() if account.transport == transport]

    return listed


@dataclass(slots=True)
class _Held:
    lease: SessionLease
    connection: Connection
    renew_at: datetime  # when the next renew is due
    held_until: datetime  # the lease surely ends by then unless renewed (measured from before the call)


class SessionHost:
    def __init__(
        self,
        leases: SessionLeases,
        accounts: ListAccounts,
        connections: ConnectionFactory,
        *,
        owner: str,
        timings: JobTimings,
        clock: Clock,
    ) -> None:
        self._leases = leases
        self._accounts = accounts
        self._connections = connections
        self._owner = owner
        self._timings = timings
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._next_poll: datetime | None = None

    @property
    def held(self) -> dict[str, int]:
        """The sessions this host runs, with their leases' fencing tokens."""
        return {key: held.lease.token for key, held in self._held.items()}

    async def step(self) -> datetime:
        """Do what is due now (renews first, then a look for free sessions); when something is next due."""
        now = self._clock.now()
        for key in [key for key, held in self._held.items() if now >= held.renew_at]:
            await self._renew(key)
        if self._next_poll is None or now >= self._next_poll:
            self._next_poll = now + self._timings.session_lease_poll
            try:
                await self._poll()
            except Exception:  # the next look tries again; the sessions held keep being renewed
                log.exception("the session host could not look for sessions to run")
        return min([self._next_poll, *(held.renew_at for held in self._held.values())])

    async def look_now(self) -> datetime:
        """``step``, with the look for sessions to run done now whenever it was due."""
        self._next_poll = None
        return await self.step()

    async def run(self, stopping: asyncio.Event) -> None:
        """Step until ``stopping`` is set, waiting for what is due next; then ``stop``."""
        try:
            while not stopping.is_set():
                due = await self.step()
                wait = max(0.0, (due - self._clock.now()).total_seconds())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=wait)
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop every connection and release its lease."""
        for key in list(self._held):
            await self._let_go(key, release=True)

    async def _renew(self, key: str) -> None:
        held = self._held[key]
        before = self._clock.now()
        renewed = False
        if before < held.held_until:
            try:
                left = (held.held_until - before).total_seconds()
                renewed = await asyncio.wait_for(
                    self._leases.renew(held.lease, ttl=self._timings.session_lease_ttl), timeout=left
                )
            except Exception:  # unknown whether it still holds: it must assume not
                log.exception("the lease of session %s could not be renewed", key)
        if not renewed:
            log.warning("session %s lost its lease (token %d): its connection stops", key, held.lease.token)
            await self._let_go(key, release=False)
            return
        held.renew_at = before + self._timings.session_lease_renew
        held.held_until = before + self._timings.session_lease_ttl

    async def _poll(self) -> None:
        listed = {account.session_name: account for account in await self._accounts()}
        for key in [key for key in self._held if key not in listed]:
            await self._let_go(key, release=True)  # logged out or unlinked: the session ends
        for key, account in listed.items():
            if key not in self._held:
                await self._take(account)

    async def _take(self, account: Account) -> None:
        key = account.session_name
        before = self._clock.now()
        lease = await self._leases.acquire(key, owner=self._owner, ttl=self._timings.session_lease_ttl)
        if lease is None:
            return  # another worker runs it
        try:
            connection = await self._connections.start(account, lease)
        except Exception:
            log.exception("session %s could not start; its lease is given back", key)
            await self._leases.release(lease)
            return
        self._held[key] = _Held(
            lease,
            connection,
            renew_at=before + self._timings.session_lease_renew,
            held_until=before + self._timings.session_lease_ttl,
        )
        log.info("session %s runs here (token %d)", key, lease.token)

    async def _let_go(self, key: str, *, release: bool) -> None:
        held = self._held.pop(key)
        try:
            await held.connection.stop()
        except Exception:  # the lease is let go of all the same: the connection is gone from this host
            log.exception("the connection of session %s did not stop cleanly", key)
        if release:
            try:
                await self._leases.release(held.lease)
            except Exception:  # it runs out on its own after the lease's length
                log.exception("the lease of session %s could not be released", key)
