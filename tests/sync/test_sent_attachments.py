"""Attachments we sent (a Pipedrive file chosen in the panel, a file uploaded in the chat view) are kept
when the send job sends them: the transcript links them, never "not available", and they reach the
Person's Files like any attachment, without a second copy of a file already there."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from server.domain.installations import InstallationStatus
from server.domain.whatsapp import OutboundMessage, SendResult
from server.jobs.send import send_outbox
from server.storage.accounts import SqlAccountStore
from server.storage.outbox import SqlOutboxStore
from tests.job_deps import run_ctx
from tests.sync.world import FakeTransport, SyncWorld

CONTACT = "+4917612345678"
OFFER = b"%PDF-1.4\n% the offer we sent\n"
PHOTO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 17


class SendingTransport(FakeTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[OutboundMessage] = []

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(
            account_id=account_id,
            client_ref=message.client_ref,
            wa_message_id=f"3EB0SENT{len(self.sent):04d}",
            chat_key=f"{message.to.lstrip('+')}@s.whatsapp.net",
            accepted_at=datetime.now(UTC),
        )

    async def find_sent(self, account_id: str, message: OutboundMessage, *, since: datetime) -> None:
        return None


@dataclass
class Installed:
    status: InstallationStatus = InstallationStatus.ACTIVE


@dataclass
class ActiveInstallations:
    asked: list[tuple[int, int]] = field(default_factory=list)

    async def get(self, company_id: int, user_id: int) -> Installed:
        self.asked.append((company_id, user_id))
        return Installed()


async def _send_file(world: SyncWorld, transport: SendingTransport, file_id: int, name: str) -> str:
    outbox = SqlOutboxStore(world.engine)
    entry, _ = await outbox.create(
        client_ref=f"ref-file-{file_id}",
        company_id=world.company_id,
        account_id=world.account_id,
        requested_by=77,
        to_chat=CONTACT,
        text="Here it is",
        fingerprint="media",
        file_id=file_id,
        file_name=name,
    )
    deps = replace(
        world.deps,
        outbox=outbox,
        accounts=SqlAccountStore(world.engine),
        installations=ActiveInstallations(),
        transports={"waha": transport},
    )
    result: str = await send_outbox(run_ctx(deps), entry.id)
    return result


async def test_a_file_we_sent_is_linked_and_reaches_files_once(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal")
    chat = await world.message(CONTACT, "Can you send the offer?", name="Klaus")
    await world.sync(chat)
    [person] = world.persons()
    stored = await world.client.files.upload(
        OFFER, filename="offer.pdf", mime_type="application/pdf", person_id=person["id"]
    )
    deal = _the_deal(world)
    deal_file = await world.client.files.upload(
        PHOTO, filename="site.png", mime_type="image/png", deal_id=deal
    )
    transport = SendingTransport()
    world.deps = replace(world.deps, transports={"waha": transport})

    assert (await _send_file(world, transport, stored.id, "offer.pdf")).startswith("sent 3EB0SENT")
    assert (await _send_file(world, transport, deal_file.id, "site.png")).startswith("sent 3EB0SENT")
    await world.sync(chat)

    assert [m.media.data for m in transport.sent if m.media] == [OFFER, PHOTO]
    assert world.transport.fetches == []  # nothing asked of the gateway: we had the bytes
    notes = world.notes()
    assert "not available" not in notes and "not downloaded yet" not in notes
    assert "offer.pdf</a>" in notes and "site.png</a>" in notes
    both = [
        ("offer.pdf", hashlib.sha256(OFFER).hexdigest()),
        ("site.png", hashlib.sha256(PHOTO).hexdigest()),
    ]
    # A file already on the Person or the Deal is used, not copied; each reaches the other one.
    assert _files_of(world, "person_id", person["id"]) == both
    assert _files_of(world, "deal_id", deal) == both


def _the_deal(world: SyncWorld) -> int:
    [deal] = world.data.deals.values()
    return int(deal["id"])


def _files_of(world: SyncWorld, key: str, target: int) -> list[tuple[str, str]]:
    files = [f for f in world.data.files.values() if f.record.get(key) == target]
    return sorted((f.record["name"], hashlib.sha256(f.content).hexdigest()) for f in files)
