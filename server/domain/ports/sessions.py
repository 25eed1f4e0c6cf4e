"""Ports of the WhatsApp sessions that run inside the job workers: the lease that makes one worker the
only owner of a linked number's connection, and the factory that starts that connection.

A lease is held per session key (a number's session name) by one owner (a worker) until it expires,
unless its holder renews it first. Every new holder gets a fencing token larger than every earlier
holder's, so work done under a lease that was lost (a stalled worker, a partition) can be told from the
current holder's. The rules both implementations keep (``tests/storage/test_session_leases.py``):

- ``acquire`` succeeds only when nobody holds the key or its lease has expired, and then gives a lease
  with a larger token than any before it;
- ``renew`` succeeds only for the current holder (same owner and token) while the lease has not expired;
- ``release`` frees the key only for the current holder; a stale holder's release changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from server.domain.models import Account


@dataclass(frozen=True, slots=True)
class SessionLease:
    """A lease held: the session it is for, who holds it, and its fencing token."""

    key: str
    owner: str
    token: int


class SessionLeases(Protocol):
    async def acquire(self, key: str, *, owner: str, ttl: timedelta) -> SessionLease | None:
        """The lease of ``key`` for ``owner`` for ``ttl``, or ``None`` while someone holds it."""
        ...

    async def renew(self, lease: SessionLease, *, ttl: timedelta) -> bool:
        """Hold ``lease`` for ``ttl`` from now; ``False`` when it was lost (expired or taken over)."""
        ...

    async def release(self, lease: SessionLease) -> bool:
        """Free the key if ``lease`` still holds it; ``False`` when it no longer did."""
        ...


class Connection(Protocol):
    """A running WhatsApp session of one number."""

    async def stop(self) -> None:
        """Close the session's connection (idempotent)."""
        ...


class ConnectionFactory(Protocol):
    async def start(self, account: Account, lease: SessionLease) -> Connection:
        """Open ``account``'s session under ``lease`` (its token fences what the connection writes)."""
        ...
