"""What an embedded WhatsApp session shares with every process: the QR code to scan, the pairing code asked
for and given, a logout asked for, and whatsmeow's device store (``embedded_session``, migration 0027).

The worker that runs a session (``server.whatsapp.embedded_connection``) writes the QR code, the pairing
code and the device store; the web process asks for a pairing code or a logout and reads the codes. Every
secret goes through ``SecretBox`` here, so nothing reaches the table unencrypted: the QR value and the
pairing code would let someone link a device to the number, and the device store holds its keys.

The device store is saved under the lease's fencing token (``server.domain.ports.sessions``): a save from a
worker whose token is older than the stored one changes nothing, so a worker that lost its lease cannot
overwrite what the new holder saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox
from server.domain.clock import Clock
from server.domain.errors import NotFound
from server.domain.text import Text
from server.storage.dialect import upsert_insert
from server.storage.tables import EmbeddedSession, WhatsAppAccount, table_of
from server.storage.times import stored_time

_table = table_of(EmbeddedSession)
_accounts = table_of(WhatsAppAccount)
EMBEDDED = "embedded"  # the transport of the numbers whose sessions these are


@dataclass(frozen=True, slots=True)
class SessionCodes:
    """What the numbers page shows while a number is linked: the QR value and a pairing code, with when."""

    qr: str = ""
    qr_at: datetime | None = None
    pairing_phone: str = ""
    pairing_code: str = ""
    pairing_at: datetime | None = None
    logout_requested: bool = False


class SqlEmbeddedSessions:
    def __init__(self, engine: AsyncEngine, box: SecretBox, clock: Clock) -> None:
        self._engine = engine
        self._box = box
        self._clock = clock

    async def register(self, session_name: str) -> None:
        """The row of an embedded number's session (idempotent); ``NotFound`` when no embedded number has
        that session. Every later write and read names the session."""
        account = select(_accounts.c.id, _accounts.c.company_id).where(
            (_accounts.c.transport == EMBEDDED) & (_accounts.c.session_name == session_name)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(account)).one_or_none()
        if found is None:
            raise NotFound(Text("No embedded WhatsApp number has the session %(name)s", name=session_name))
        statement = (
            upsert_insert(self._engine, _table)
            .values(
                session_name=session_name,
                company_id=found.company_id,
                account_id=found.id,
                qr_encrypted="",
                pairing_phone="",
                pairing_code_encrypted="",
                logout_requested=False,
                device_token=0,
            )
            .on_conflict_do_nothing(index_elements=["session_name"])
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def status(self, session_name: str) -> tuple[str, str] | None:
        """The number's stored status and its detail, as the session's events left them."""
        query = select(_accounts.c.status, _accounts.c.status_detail).where(
            (_accounts.c.transport == EMBEDDED) & (_accounts.c.session_name == session_name)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else (str(row.status), str(row.status_detail))

    async def codes(self, session_name: str) -> SessionCodes:
        query = select(
            _table.c.qr_encrypted,
            _table.c.qr_at,
            _table.c.pairing_phone,
            _table.c.pairing_code_encrypted,
            _table.c.pairing_at,
            _table.c.logout_requested,
        ).where(_table.c.session_name == session_name)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        if row is None:
            return SessionCodes()
        return SessionCodes(
            qr=self._box.decrypt(row.qr_encrypted),
            qr_at=stored_time(row.qr_at),
            pairing_phone=row.pairing_phone,
            pairing_code=self._box.decrypt(row.pairing_code_encrypted),
            pairing_at=stored_time(row.pairing_at),
            logout_requested=bool(row.logout_requested),
        )

    async def set_qr(self, session_name: str, value: str) -> None:
        """The QR value the phone should scan now ("" once linked: it is spent)."""
        await self._update(session_name, qr_encrypted=self._box.encrypt(value), qr_at=self._clock.now())

    async def ask_pairing_code(self, session_name: str, phone_digits: str) -> None:
        """A pairing code is wanted for this number; the worker that runs the session asks WhatsApp."""
        await self._update(
            session_name, pairing_phone=phone_digits, pairing_code_encrypted="", pairing_at=self._clock.now()
        )

    async def set_pairing_code(self, session_name: str, phone_digits: str, code: str) -> None:
        statement = (
            update(_table)
            .where((_table.c.session_name == session_name) & (_table.c.pairing_phone == phone_digits))
            .values(pairing_code_encrypted=self._box.encrypt(code), pairing_at=self._clock.now())
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def ask_logout(self, session_name: str) -> None:
        await self._update(session_name, logout_requested=True)

    async def save_device(self, session_name: str, store: bytes, *, token: int) -> bool:
        """Keep the device store saved under the lease ``token``; ``False`` (nothing written) when a holder
        with a newer token saved it already."""
        statement = (
            update(_table)
            .where((_table.c.session_name == session_name) & (_table.c.device_token <= token))
            .values(
                device_encrypted=self._box.encrypt_bytes(store),
                device_token=token,
                device_saved_at=self._clock.now(),
            )
        )
        async with self._engine.begin() as connection:
            return bool((await connection.execute(statement)).rowcount == 1)

    async def device(self, session_name: str) -> bytes | None:
        """The device store last saved, decrypted; ``None`` before the first save."""
        query = select(_table.c.device_encrypted).where(_table.c.session_name == session_name)
        async with self._engine.connect() as connection:
            sealed = (await connection.execute(query)).scalar_one_or_none()
        return None if sealed is None else self._box.decrypt_bytes(bytes(sealed))

    async def rotate_keys(self) -> int:
        """Re-encrypt every session's secrets under the newest key; how many sessions changed."""
        query = select(
            _table.c.session_name,
            _table.c.qr_encrypted,
            _table.c.pairing_code_encrypted,
            _table.c.device_encrypted,
        )
        changed = 0
        async with self._engine.begin() as connection:
            for row in (await connection.execute(query)).all():
                values: dict[str, object] = {}
                for column in ("qr_encrypted", "pairing_code_encrypted"):
                    value = getattr(row, column)
                    if not self._box.is_current(value):
                        values[column] = self._box.rotate(value)
                if row.device_encrypted is not None:
                    values["device_encrypted"] = self._box.rotate_bytes(bytes(row.device_encrypted))
                if values:
                    await connection.execute(
                        update(_table).where(_table.c.session_name == row.session_name).values(**values)
                    )
                    changed += 1
        return changed

    async def _update(self, session_name: str, **values: object) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_table).where(_table.c.session_name == session_name).values(**values)
            )
