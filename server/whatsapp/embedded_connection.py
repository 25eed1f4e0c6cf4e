"""One linked number's WhatsApp Web session, running in the worker that holds its lease
(``server.jobs.session_host``), on whatsmeow through a ``SessionClient``.

- **Events are kept before anything else.** Every event whatsmeow reports (messages, receipts, history
  sync batches, connection changes, groups) is stored as an inbound delivery of the ``embedded`` transport
  and queued (``SessionSink.keep``), so the inbound jobs process it as they process a webhook. A QR value
  is not an event to keep: it goes, encrypted, to the session's row for the numbers page to draw.
- **Connection states by name.** When whatsmeow cannot reach WhatsApp (DNS, a refused connection, a proxy
  that does not answer), the number's status becomes ``unreachable`` with whatsmeow's words as its detail;
  any other refusal becomes ``failed``. Either way the session tries again after ``retry_base``, twice as
  long each time up to ``retry_max``, for as long as this worker holds it.
- **The device store follows the session.** It is restored from WaPipe's database before the client
  opens it, saved (under the lease's fencing token) when pairing completes, whenever it changed at a look
  (every ``poll``), and when the session stops; then the local file is removed.
- **Requests from other processes** come through the session's row: a pairing code asked for a number is
  asked of WhatsApp at the next look, and a logout asked for is done before the session stops.

Every wait is the injected ``sleep`` (the app clock's), so tests move a clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from server.domain.clock import Sleep
from server.domain.whatsapp import SessionStatus
from server.whatsapp.embedded_bodies import encode_event
from server.whatsapp.embedded_client import SessionClient, SessionFailed, Unreachable
from server.whatsapp.embedded_device import remove, restore, snapshot
from server.whatsapp.embedded_proto import type_name

log = logging.getLogger(__name__)

PAIRED = frozenset({"neonize.PairStatus", "neonize.Connected"})  # the device store now holds new keys
KEEP_TRIES = 3  # storing an event is tried this many times (``retry_base`` apart) before it is given up


class SessionCodesView(Protocol):
    """What the session's row says (``server.storage.embedded_sessions.SessionCodes``)."""

    @property
    def qr(self) -> str: ...

    @property
    def pairing_phone(self) -> str: ...

    @property
    def pairing_code(self) -> str: ...

    @property
    def pairing_at(self) -> datetime | None: ...

    @property
    def logout_requested(self) -> bool: ...


class SessionState(Protocol):
    """The session's shared row (``server.storage.embedded_sessions.SqlEmbeddedSessions``)."""

    async def register(self, session_name: str) -> None: ...

    async def set_qr(self, session_name: str, value: str) -> None: ...

    async def codes(self, session_name: str) -> SessionCodesView: ...

    async def set_pairing_code(self, session_name: str, phone_digits: str, code: str) -> None: ...

    async def save_device(self, session_name: str, store: bytes, *, token: int) -> bool: ...

    async def device(self, session_name: str) -> bytes | None: ...


class SessionSink(Protocol):
    """Where a session's events go in WaPipe (``server.jobs.embedded_sessions``)."""

    async def keep(self, session_name: str, event_key: str, body: bytes) -> None:
        """Store the event as an inbound delivery (once per key) and queue its processing."""
        ...

    async def status(self, session_name: str, status: SessionStatus, detail: str) -> None:
        """Record the number's status at once (the numbers page shows it)."""
        ...


@dataclass(frozen=True, slots=True)
class SessionTimings:
    retry_base: timedelta  # the first wait after a failed connect; doubles per failure
    retry_max: timedelta  # the longest wait between tries
    poll: timedelta  # how often the session looks at its row and its device store


class EmbeddedConnection:
    def __init__(
        self,
        session_name: str,
        token: int,
        *,
        client_for: Callable[[Path], SessionClient],
        state: SessionState,
        sink: SessionSink,
        store_dir: Path,
        timings: SessionTimings,
        sleep: Sleep,
    ) -> None:
        self.session_name = session_name
        self.token = token
        self._client_for = client_for
        self._state = state
        self._sink = sink
        self._path = store_dir / f"{session_name}.db"
        self._timings = timings
        self._sleep = sleep
        self._client: SessionClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._saved: tuple[float, ...] | None = None  # the store files' times and sizes at the last save
        self._asked: tuple[str, datetime | None] = ("", None)  # the pairing code ask last answered
        self.connected = False

    @property
    def client(self) -> SessionClient:
        if self._client is None:
            raise RuntimeError(f"session {self.session_name} has not started")
        return self._client

    async def start(self) -> None:
        """Restore the device store, open the client and run it in the background."""
        await self._state.register(self.session_name)
        stored = await self._state.device(self.session_name)
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if stored is None:
            remove(self._path)  # a new link: no keys from an earlier session of this name
        else:
            restore(self._path, stored)
        self._saved = self._stamp()
        client = self._client_for(self._path)
        client.listen(self._on_event)
        self._client = client
        self._tasks = [
            asyncio.create_task(self._run(), name=f"session {self.session_name}"),
            asyncio.create_task(self._tend(), name=f"session {self.session_name} look"),
        ]

    async def stop(self) -> None:
        """Log out when that was asked for, disconnect, save the device store, remove the local file."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                if (await self._state.codes(self.session_name)).logout_requested:
                    await client.logout()
            try:
                await client.disconnect()
            except Exception:
                log.exception("session %s did not disconnect cleanly", self.session_name)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.connected = False
        try:
            await self.save_device(force=True)
        finally:
            remove(self._path)

    async def save_device(self, *, force: bool = False) -> bool:
        """Save the device store when it changed since the last save (or ``force``); whether it was."""
        stamp = self._stamp()
        if not force and stamp == self._saved:
            return False
        data = await asyncio.to_thread(snapshot, self._path)
        if data is None:
            return False
        saved = await self._state.save_device(self.session_name, data, token=self.token)
        if not saved:
            log.warning(
                "session %s: a newer holder saved the device store; this copy is dropped", self.session_name
            )
        self._saved = stamp
        return saved

    def _stamp(self) -> tuple[float, ...]:
        stamp: list[float] = []
        for path in (self._path, self._path.with_name(self._path.name + "-wal")):
            with contextlib.suppress(FileNotFoundError):
                info = path.stat()
                stamp += [info.st_mtime, float(info.st_size)]
        return tuple(stamp)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await self.client.run()
                failures = 0
            except Unreachable as error:
                failures += 1
                await self._status(SessionStatus.UNREACHABLE, f"cannot reach WhatsApp: {error}")
            except SessionFailed as error:
                failures += 1
                await self._status(SessionStatus.FAILED, f"WhatsApp refused the session: {error}")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                log.exception("session %s stopped unexpectedly", self.session_name)
                await self._status(SessionStatus.FAILED, f"the session stopped: {type(error).__name__}")
            self.connected = False
            if self._stopping.is_set():
                return
            await self._sleep(self._retry_wait(failures).total_seconds())

    def _retry_wait(self, failures: int) -> timedelta:
        wait: timedelta = self._timings.retry_base * (2 ** max(0, failures - 1))
        return min(wait, self._timings.retry_max)

    async def _status(self, status: SessionStatus, detail: str) -> None:
        try:
            await self._sink.status(self.session_name, status, detail[:500])
        except Exception:
            log.exception("session %s: its status %s could not be recorded", self.session_name, status.value)

    async def _tend(self) -> None:
        while not self._stopping.is_set():
            await self._sleep(self._timings.poll.total_seconds())
            try:
                await self.look()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next look tries again
                log.exception("session %s: its look at its requests failed", self.session_name)

    async def look(self) -> None:
        """Do what other processes asked of the session (a pairing code), and save a changed device store:
        what the session does every ``poll``."""
        codes = await self._state.codes(self.session_name)
        phone = codes.pairing_phone
        asked = (phone, codes.pairing_at)  # each ask has its own time: asked again, a new code is got
        if phone and not codes.pairing_code and asked != self._asked:
            self._asked = asked
            code = await self.client.pair_phone(phone)
            await self._state.set_pairing_code(self.session_name, phone, code)
        await self.save_device()

    async def _on_event(self, event: object) -> None:
        """Called by the client for each event: never raises (the client's thread would lose it)."""
        try:
            await self._handle(event)
        except Exception:
            log.exception("session %s: an event could not be handled", self.session_name)

    async def _handle(self, event: object) -> None:
        name = type_name(event)
        if name == "neonize.QR":
            codes = [str(code) for code in getattr(event, "Codes", ()) if code]
            if codes:
                await self._state.set_qr(self.session_name, codes[0])
                await self._status(SessionStatus.NEEDS_PAIRING, "SCAN_QR_CODE")
            return
        if name in ("neonize.Disconnected", "neonize.LoggedOut", "neonize.StreamReplaced"):
            self.connected = False  # first: a send must not be tried while the event is being stored
        key, body = encode_event(self.session_name, event, me=self.client.own_jid())
        await self._keep(key, body)
        if name in PAIRED:
            self.connected = True
            await self._state.set_qr(self.session_name, "")  # spent: nothing left to scan
            await self.save_device(force=True)  # the keys of a new link must survive this worker

    async def _keep(self, key: str, body: bytes) -> None:
        for attempt in range(1, KEEP_TRIES + 1):
            try:
                await self._sink.keep(self.session_name, key, body)
                return
            except Exception:
                if attempt == KEEP_TRIES:
                    raise
                log.warning("session %s: storing an event failed; trying again", self.session_name)
                await self._sleep((self._timings.retry_base * attempt).total_seconds())
