"""WhatsApp Web as the embedded sessions see it, standing in for neonize's client (which cannot reach
WhatsApp from here): a ``SessionClient`` per session that the test drives. It hands the session neonize's
real event types (built in ``tests/whatsapp/neonize_events.py``), and keeps its device store the way
whatsmeow does, as a SQLite file at the path the session gave it: pairing writes the device's keys there.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from server.domain.whatsapp import OutboundMessage, SessionStatus
from server.whatsapp.embedded_client import EventHandler, SessionClient, Unreachable
from server.whatsapp.embedded_media import EmbeddedMedia
from tests.whatsapp.neonize_events import OWN, N, jid


@dataclass
class StandInClient:
    store_path: Path
    world: StandInWhatsApp
    handler: EventHandler | None = None
    running: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    runs: int = 0
    logged_out: bool = False
    paired_as: str | None = None
    sent: list[tuple[str, OutboundMessage]] = field(default_factory=list)
    codes_asked: list[str] = field(default_factory=list)  # the numbers pairing codes were asked for

    def listen(self, handler: EventHandler) -> None:
        self.handler = handler

    async def run(self) -> None:
        self.runs += 1
        if self.world.unreachable:
            raise Unreachable(self.world.unreachable)
        self.paired_as = self.world.device_number(self.store_path)
        self.running.set()
        await self.stopped.wait()

    async def disconnect(self) -> None:
        self.stopped.set()

    async def logout(self) -> None:
        self.logged_out = True

    async def pair_phone(self, phone_digits: str) -> str:
        self.codes_asked.append(phone_digits)
        return f"WAPI-{phone_digits[-4:]}{len(self.codes_asked)}"

    def own_jid(self) -> str | None:
        return f"{self.paired_as}@s.whatsapp.net" if self.paired_as else None

    async def emit(self, event: object) -> None:
        assert self.handler is not None, "the session listens before it runs"
        await self.handler(event)

    async def show_qr(self, value: str) -> None:
        await self.emit(N.QR(Codes=[value]))

    async def pair(self, number: str = OWN) -> None:
        """The phone scanned the code: whatsmeow writes the device's keys to its store, then reports it."""
        with sqlite3.connect(self.store_path) as store:
            store.execute(
                "CREATE TABLE IF NOT EXISTS whatsmeow_device (jid TEXT PRIMARY KEY, identity_key BLOB)"
            )
            store.execute(
                "INSERT OR REPLACE INTO whatsmeow_device VALUES (?, ?)",
                (f"{number}@s.whatsapp.net", IDENTITY_KEY),
            )
        store.close()
        self.paired_as = number
        ok = N.PairStatus.SUCCESS
        await self.emit(
            N.PairStatus(ID=jid(number, device=7), BusinessName="", Platform="android", Status=ok)
        )
        await self.emit(N.Connected(status=True))

    async def emit_disconnected(self) -> None:
        """The connection dropped (whatsmeow reconnects by itself later)."""
        await self.emit(N.Disconnected(status=True))

    async def send(self, to_jid: str, message: OutboundMessage) -> tuple[str, datetime | None]:
        self.sent.append((to_jid, message))
        return f"3EB0STANDIN{len(self.sent):04d}", None

    async def on_whatsapp(self, phone_digits: str) -> str | None:
        return f"{phone_digits}@s.whatsapp.net" if phone_digits in self.world.on_whatsapp else None

    async def group_info(self, group_jid: str) -> object:
        raise NotImplementedError("no group in these tests")

    async def download(self, media: EmbeddedMedia) -> bytes:
        return self.world.files[media.direct_path]

    async def lid_for_phone(self, phone_jid: str) -> str | None:
        return None

    async def phone_for_lid(self, lid_jid: str) -> str | None:
        return None


IDENTITY_KEY = bytes(range(32))  # the device's key whatsmeow keeps: it must never reach the database in clear


@dataclass
class StandInWhatsApp:
    """``client_for``: a client per session start, the latest one per store file name kept for the test."""

    unreachable: str = ""  # whatsmeow's words when set: every run fails as if the network were down
    on_whatsapp: set[str] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)
    clients: dict[str, StandInClient] = field(default_factory=dict)
    started: list[Path] = field(default_factory=list)

    def __call__(self, store_path: Path) -> SessionClient:
        client = StandInClient(store_path, self)
        self.clients[store_path.stem] = client
        self.started.append(store_path)
        return client

    def client(self, session_name: str) -> StandInClient:
        return self.clients[session_name]

    @staticmethod
    def device_number(store_path: Path) -> str | None:
        """The number whose keys the device store holds (what whatsmeow resumes with), if any."""
        if not store_path.exists():
            return None
        with sqlite3.connect(store_path) as store:
            row = store.execute("SELECT jid FROM whatsmeow_device").fetchone()
        store.close()
        return str(row[0]).partition("@")[0] if row else None


# The session's row and WaPipe's inbound store, in memory, for a session tested on its own.


@dataclass
class Codes:
    qr: str = ""
    pairing_phone: str = ""
    pairing_code: str = ""
    logout_requested: bool = False


@dataclass
class State:
    codes_now: Codes = field(default_factory=Codes)
    device_now: bytes | None = None

    async def register(self, session_name: str) -> None:
        return None

    async def set_qr(self, session_name: str, value: str) -> None:
        self.codes_now.qr = value

    async def codes(self, session_name: str) -> Codes:
        return self.codes_now

    async def set_pairing_code(self, session_name: str, phone_digits: str, code: str) -> None:
        self.codes_now.pairing_code = code

    async def save_device(self, session_name: str, store: bytes, *, token: int) -> bool:
        self.device_now = store
        return True

    async def device(self, session_name: str) -> bytes | None:
        return self.device_now


@dataclass
class Sink:
    kept: list[tuple[str, bytes]] = field(default_factory=list)
    statuses: list[tuple[SessionStatus, str]] = field(default_factory=list)
    failures_left: int = 0

    async def keep(self, session_name: str, event_key: str, body: bytes) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise OSError("database is restarting")
        self.kept.append((event_key, body))

    async def status(self, session_name: str, status: SessionStatus, detail: str) -> None:
        self.statuses.append((status, detail))
