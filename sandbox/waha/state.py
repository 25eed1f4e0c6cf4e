"""The whole simulated gateway in memory, and the Python API tests drive it with.

`SandboxState` owns the clock and scheduler, the id factory, the webhook dispatcher, the media store,
the sessions and the "WhatsApp directory" (who has an account). The HTTP routes and the control
endpoints call the same methods tests call directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.waha import message_changes, messages, seeds, sessions
from sandbox.waha.clock import Clock, Scheduler
from sandbox.waha.engines import ServerInfo
from sandbox.waha.ids import IdFactory
from sandbox.waha.jids import digits, phone_variants
from sandbox.waha.media import MediaStore
from sandbox.waha.models import Faults, Message, SandboxError, Session, Status
from sandbox.waha.webhooks import Delivery, WebhookDispatcher


@dataclass
class Emitted:
    """An event as the gateway produced it (whether or not any webhook was configured)."""

    session: str
    event: str
    envelope: dict[str, Any]
    delivered: bool


class SandboxState:
    def __init__(
        self,
        *,
        seed: str = "wapipe",
        clock: Clock | None = None,
        media_lifetime_seconds: float = 180.0,
        ack_delays: tuple[float, ...] = (1.0, 3.0, 6.0, 9.0),
        qr_rotation_seconds: float = 20.0,
        qr_max_rotations: int | None = None,
        seed_history: bool = True,
        public_url: str = "http://127.0.0.1:3000",
        webhook_timeout: float = 10.0,
        send_timeout_seconds: float = 60.0,
        contacts: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.clock = clock or Clock()
        self.scheduler = Scheduler(self.clock)
        self.ids = IdFactory(seed)
        self.webhooks = WebhookDispatcher(self.clock, self.scheduler, self.ids, timeout=webhook_timeout)
        self.media = MediaStore(self.clock, self.scheduler, media_lifetime_seconds)
        self.ack_delays = ack_delays
        self.qr_rotation_seconds = qr_rotation_seconds
        self.qr_max_rotations = qr_max_rotations
        self.seed_history = seed_history
        self.public_url = public_url.rstrip("/")
        self.send_timeout_seconds = send_timeout_seconds
        self.sessions: dict[str, Session] = {}
        self.server = ServerInfo()
        self.events: list[Emitted] = []
        self.accounts: set[str] = set()
        self.missing_numbers: set[str] = set()
        self.contact_names: dict[str, str] = {}
        self.contact_lids: dict[str, str] = {}
        # (name, phone digits): people the phone page offers first under "Who writes" (the demo's
        # Persons in Pipedrive); they have WhatsApp, and keep their names, through every reset
        self.contacts = tuple((name, digits(phone)) for name, phone in contacts)
        self._directory()

    def _directory(self) -> None:
        self.accounts = set(seeds.REGISTERED_NUMBERS) | {phone for _, phone in self.contacts}
        self.contact_names = dict(seeds.CONTACT_NAMES)
        for name, phone in self.contacts:
            self.contact_names.setdefault(phone, name)
        self.contact_lids = dict(seeds.CONTACT_LIDS)

    # time and background work -------------------------------------------------------------------

    def tick(self) -> None:
        """Run the jobs due on the sandbox clock and start deliveries queued outside a loop."""
        self.scheduler.run_due()
        self.webhooks.pump()

    async def settle(self) -> None:
        """Run due jobs and wait until every webhook delivery in flight is done."""
        while True:
            self.tick()
            if not self.webhooks.busy:
                return
            await self.webhooks.settle()

    async def elapse(self, seconds: float) -> None:
        """Move the clock forward, running each scheduled job at its time and settling after it."""
        target = self.clock.now_ms() + round(seconds * 1000)
        await self.settle()
        while (due := self.scheduler.next_due_ms()) is not None and due <= target:
            self.clock.set_ms(max(due, self.clock.now_ms()))
            await self.settle()
        self.clock.set_ms(target)
        await self.settle()

    def reset(self) -> None:
        """Forget everything: sessions (their webhooks and faults), files and their downloads, events,
        deliveries, jobs; the clock and ids start over."""
        self.scheduler.clear()
        self.webhooks.reset()
        self.media.expire_all()
        self.media.downloads.clear()
        self.sessions.clear()
        self.events.clear()
        self.ids.reset()
        self.clock.reset()
        self.missing_numbers.clear()
        self._directory()
        self.server.reset()

    @property
    def deliveries(self) -> list[Delivery]:
        return self.webhooks.log

    # events ---------------------------------------------------------------------------------------

    def emit(self, session: Session, event: str, payload: dict[str, Any]) -> None:
        """Build the envelope once and deliver it to every webhook of the session that wants it."""
        envelope = self._envelope(session, event, payload)
        silent = session.faults.silent
        self.events.append(Emitted(session.name, event, envelope, not silent))
        if silent:
            return
        for target in session.webhooks:
            if not target.wants(event):
                continue
            for _ in range(1 + session.faults.duplicate_deliveries):
                self.webhooks.deliver(target, envelope)
            if session.faults.duplicate_new_event_id:
                self.webhooks.deliver(target, self._envelope(session, event, payload))

    def _envelope(self, session: Session, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.now_ms()
        return {
            "id": self.ids.event_id(now),
            "timestamp": now,
            "event": event,
            "session": session.name,
            "metadata": session.config.get("metadata") or {},
            "me": session.me(),
            "payload": payload,
            "engine": self.server.engine,
            "environment": self.server.environment(),
        }

    # sessions -------------------------------------------------------------------------------------

    def session(self, name: str) -> Session:
        try:
            return self.sessions[name]
        except KeyError:
            raise SandboxError(404, f'Session "{name}" does not exist') from None

    def working(self, name: str) -> Session:
        session = self.session(name)
        if session.status != "WORKING":
            raise SandboxError(
                422,
                f"Session status is not as expected. Try again later or restart the session. "
                f"Session '{name}' status: {session.status}, expected: ['WORKING']",
                session=name,
                status=str(session.status),
                expected=["WORKING"],
            )
        return session

    def create_session(
        self, name: str = "default", config: dict[str, Any] | None = None, *, start: bool = True
    ) -> Session:
        self.server.check_session_name(name)
        return sessions.create(self, name, config or {}, start=start)

    def start(self, name: str) -> Session:
        return sessions.start(self, self.session(name))

    def stop(self, name: str) -> Session:
        return sessions.stop(self, self.session(name))

    def scan(self, name: str, phone: str, push_name: str = "", qr: str | None = None) -> Session:
        """The phone scans the QR code shown by the session and links `phone`."""
        return sessions.scan(self, self.session(name), phone, push_name, qr)

    def faults(self, name: str) -> Faults:
        return self.session(name).faults

    def fail(self, name: str, reason: str = "connection failed") -> Session:
        return sessions.fail(self, self.session(name), reason)

    def phone_logout(self, name: str) -> Session:
        """The user removed the linked device on their phone."""
        return sessions.phone_logout(self, self.session(name))

    def start_offline_gap(self, name: str) -> None:
        self.session(name).faults.offline = True

    def end_offline_gap(self, name: str, *, reconnect: bool = True) -> None:
        """Back online; messages from the gap are only in history. `reconnect` re-emits STARTING/WORKING."""
        session = self.session(name)
        session.faults.offline = False
        if reconnect and session.status == "WORKING":
            sessions.set_status(self, session, Status.STARTING)
            sessions.set_status(self, session, Status.WORKING)

    # messages -------------------------------------------------------------------------------------

    def receive(self, name: str, sender: str, text: str = "", **options: Any) -> Message:
        """A contact (a group member with `group=`) writes to the linked number; see `messages.receive`."""
        return messages.receive(self, self.working(name), sender, text, **options)

    def type_on_phone(self, name: str, chat_id: str, text: str = "", **options: Any) -> Message:
        """The owner types a message on the linked phone (`fromMe`, `source: "app"`)."""
        return messages.type_on_phone(self, self.working(name), chat_id, text, **options)

    def edit_message(self, name: str, message_id: str, text: str) -> Message:
        """The message's sender edits it (`message.edited`); see `message_changes.edit`."""
        return message_changes.edit(self, self.working(name), message_id, text)

    def revoke_message(self, name: str, message_id: str) -> Message:
        """The message's sender deletes it for everyone (`message.revoked`)."""
        return message_changes.revoke(self, self.working(name), message_id)

    def react(self, name: str, message_id: str, emoji: str, sender: str | None = None) -> dict[str, Any]:
        """A reaction (`message.reaction`; "" removes it) from `sender`, else from the linked phone."""
        return message_changes.react(self, self.working(name), message_id, emoji, sender=sender)

    def set_ack(self, name: str, message_id: str, ack: int, participant: str | None = None) -> None:
        """Emit a `message.ack` now; an unknown id produces an ack without a prior message."""
        messages.ack_by_id(self, self.session(name), message_id, ack, participant)

    def learn_lid(self, name: str, lid: str, phone: str) -> None:
        self.session(name).lids[digits(lid)] = digits(phone)

    def expire_media(self) -> None:
        self.media.expire_all()

    def outbox(self, name: str) -> list[dict[str, Any]]:
        session = self.session(name)
        out = []
        for entry in session.outbox:
            message = session.find_message(entry.message_id)
            out.append(entry.as_dict(message.ack if message else 0))
        return out

    # the WhatsApp directory ----------------------------------------------------------------------

    def check_exists(self, phone: str) -> str | None:
        """The account's JID user for a typed number, trying BR/MX/AR variants; None if not on WhatsApp."""
        number = digits(phone)
        for candidate in [number, *phone_variants(number)]:
            if candidate in self.accounts:
                return candidate
        if number in self.missing_numbers or not 8 <= len(number) <= 15:
            return None
        return number

    def media_url(self, name: str) -> str:
        return f"{self.public_url}/api/files/{name}"
