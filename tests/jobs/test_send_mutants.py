"""The send job, step by step, against stand-ins that record every call: which outbox row it touches, what
it hands the transport, what it stores in the inbox, and how it ends (sent, failed by name, or retried)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.worker import Retry

from server.domain.errors import InvalidInput, NotFound, Permanent, Transient, WaPipeError
from server.domain.installations import Installation, InstallationStatus
from server.domain.models import Account, OutboxEntry
from server.domain.whatsapp import (
    InboundMessage,
    MediaKind,
    MediaRef,
    OutboundMedia,
    OutboundMessage,
    Peer,
    SendResult,
)
from server.jobs import send
from server.jobs.deps import JobDeps
from server.jobs.send import send_outbox
from server.services import deliver
from server.services.deliver import SentAttachment
from tests.job_deps import fake_deps, run_ctx

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCEPTED = datetime(2026, 3, 1, 12, 0, 2, tzinfo=UTC)
MIB = 1024 * 1024


@dataclass
class FixedClock:
    at: datetime = NOW

    def now(self) -> datetime:
        return self.at


def entry(**changes: Any) -> OutboxEntry:
    base = OutboxEntry(
        id=17,
        client_ref="ref-00017",
        company_id=3,
        account_id=5,
        requested_by=42,
        to_chat="+4917655501234",
        person_id=11,
        deal_id=None,
        text="Hallo Anna",
        file_id=None,
        file_name="",
        status="queued",
        attempts=0,
        attempt_started_at=None,
        wa_message_id=None,
        message_key=None,
        error_reason="",
        error_message="",
        created_at=NOW - timedelta(minutes=1),
    )
    return replace(base, **changes)


ACCOUNT = Account(
    id=5,
    company_id=3,
    owner_user_id=42,
    transport="waha",
    session_name="wp-acme",
    e164="+4930123456789",
    display_name="Acme",
    status="connected",
    status_detail="",
    last_activity_at=None,
)


@dataclass
class FakeOutbox:
    rows: dict[int, OutboxEntry]
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def by_id(self, outbox_id: int) -> OutboxEntry | None:
        return self.rows.get(outbox_id)

    async def start_attempt(self, outbox_id: int, at: datetime) -> None:
        self.calls.append(("start_attempt", outbox_id, at))

    async def mark_sent(self, outbox_id: int, wa_message_id: str, message_key: str) -> None:
        self.calls.append(("mark_sent", outbox_id, wa_message_id, message_key))

    async def mark_failed(self, outbox_id: int, reason: str, message: str) -> None:
        self.calls.append(("mark_failed", outbox_id, reason, message))


@dataclass
class FakeAccounts:
    accounts: list[Account]

    async def by_id(self, account_id: int) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)


def installation(status: InstallationStatus, *, company_id: int = 3, user_id: int = 42) -> Installation:
    return Installation(
        id=8,
        company_id=company_id,
        pipedrive_user_id=user_id,
        name="Anna",
        email="anna@acme.test",
        is_admin=False,
        status=status,
        status_detail="",
        scopes=frozenset(),
        api_domain="https://acme.pipedrive.com",
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        uninstalled_at=None,
    )


@dataclass
class FakeInstallations:
    """Installations by (company, Pipedrive user), as the store answers ``get``."""

    found: list[Installation] = field(default_factory=lambda: [installation(InstallationStatus.ACTIVE)])
    asked: list[tuple[int, int]] = field(default_factory=list)

    async def get(self, company_id: int, pipedrive_user_id: int) -> Installation | None:
        self.asked.append((company_id, pipedrive_user_id))
        return next(
            (i for i in self.found if (i.company_id, i.pipedrive_user_id) == (company_id, pipedrive_user_id)),
            None,
        )


@dataclass
class FakeTransport:
    chat_key: str = "4917655501234@s.whatsapp.net"
    error: Exception | None = None
    already: SendResult | None = None
    sent: list[tuple[str, OutboundMessage]] = field(default_factory=list)
    looked: list[tuple[str, OutboundMessage, datetime]] = field(default_factory=list)

    def result(self, account_id: str, message: OutboundMessage) -> SendResult:
        return SendResult(
            account_id=account_id,
            client_ref=message.client_ref,
            wa_message_id="3EB0ABC",
            chat_key=self.chat_key,
            accepted_at=ACCEPTED,
            transport_id="true_4917655501234@c.us_3EB0ABC",
        )

    async def send(self, account_id: str, message: OutboundMessage) -> SendResult:
        self.sent.append((account_id, message))
        if self.error is not None:
            raise self.error
        return self.result(account_id, message)

    async def find_sent(
        self, account_id: str, message: OutboundMessage, *, since: datetime
    ) -> SendResult | None:
        self.looked.append((account_id, message, since))
        return self.already


@dataclass
class FakeFiles:
    data: bytes | None
    asked: list[int] = field(default_factory=list)

    async def download(self, file_id: int) -> bytes:
        self.asked.append(file_id)
        if self.data is None:
            raise NotFound("gone", reason="not_found")
        return self.data


@dataclass
class FakePipedrive:
    files: FakeFiles
    companies: list[int] = field(default_factory=list)

    async def for_company(self, company_id: int) -> FakePipedrive:
        self.companies.append(company_id)
        return self


@dataclass
class FakeInbox:
    chats: list[tuple[int, Peer, datetime]] = field(default_factory=list)
    messages: list[tuple[int, int, InboundMessage]] = field(default_factory=list)

    async def upsert_chat(self, account_id: int, chat: Peer, at: datetime) -> int:
        self.chats.append((account_id, chat, at))
        return 55

    async def add_message(
        self, account_id: int, chat_id: int, message: InboundMessage, *, received_at: datetime | None = None
    ) -> None:
        self.messages.append((account_id, chat_id, message))


@dataclass
class FakeQueue:
    jobs: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    async def enqueue(self, function: str, *args: Any, **kwargs: Any) -> bool:
        self.jobs.append((function, args, kwargs))
        return True


@dataclass
class FakeSyncStore:
    async def companies_installed(self, chat_ids: list[int]) -> set[int]:
        return set(chat_ids)


@dataclass
class World:
    outbox: FakeOutbox
    transport: FakeTransport
    inbox: FakeInbox
    files: FakeFiles
    pipedrive: FakePipedrive
    queue: FakeQueue
    deps: JobDeps
    job_try: int | None

    async def run(self, outbox_id: int = 17) -> str:
        run = {} if self.job_try is None else {"job_try": self.job_try}
        return await send_outbox(run_ctx(self.deps, **run), outbox_id)


def world(
    row: OutboxEntry | None = None,
    *,
    account: Account = ACCOUNT,
    file: bytes | None = b"%PDF-1.7 offer",
    job_try: int | None = 1,
    sync: bool = False,
) -> World:
    row = row or entry()
    outbox = FakeOutbox({row.id: row})
    transport = FakeTransport()
    files = FakeFiles(file)
    pipedrive = FakePipedrive(files)
    inbox = FakeInbox()
    queue = FakeQueue()
    deps = fake_deps(
        outbox=outbox,
        accounts=FakeAccounts([account]),
        transports={"waha": transport, "cloud": FakeTransport()},
        pipedrive=pipedrive,
        inbox=inbox,
        clock=FixedClock(),
        installations=FakeInstallations(),
    )
    if sync:
        deps = replace(deps, sync_config=object(), queue=queue, sync_store=FakeSyncStore())
    return World(outbox, transport, inbox, files, pipedrive, queue, deps, job_try)


def test_the_limits() -> None:
    assert send.MAX_SEND_TRIES == 8
    assert deliver.MAX_ATTACHMENT_BYTES == 64 * MIB


@pytest.mark.parametrize("status", ["sent", "failed"])
async def test_a_finished_row_is_not_sent_again(status: str) -> None:
    w = world(entry(status=status))
    assert await w.run() == "nothing to do"
    assert w.outbox.calls == [] and w.transport.sent == []


async def test_an_unknown_row_is_nothing_to_do() -> None:
    w = world()
    assert await w.run(18) == "nothing to do"
    assert w.outbox.calls == [] and w.transport.sent == []


@pytest.mark.parametrize(
    "account", [replace(ACCOUNT, id=6), replace(ACCOUNT, company_id=4)], ids=["removed", "other company"]
)
async def test_a_number_that_is_gone_or_another_companys_fails_the_row(account: Account) -> None:
    w = world(account=account)
    assert await w.run() == "failed"
    assert w.outbox.calls == [("mark_failed", 17, "unknown_from_number", "The WhatsApp number was removed")]
    assert w.transport.sent == []


SENDER_GONE = (
    "sender_uninstalled",
    "Not sent: WaPipe was uninstalled for the Pipedrive user who sent this message",
)


@pytest.mark.parametrize(
    "found",
    [
        [],
        [installation(InstallationStatus.UNINSTALLED)],
        [installation(InstallationStatus.ACTIVE, user_id=43)],
        [installation(InstallationStatus.ACTIVE, company_id=4)],
    ],
    ids=["never installed", "uninstalled", "another user's", "another company's"],
)
async def test_a_send_of_a_user_without_an_installation_fails_by_name_and_nothing_goes_out(
    found: list[Installation],
) -> None:
    w = world(entry(file_id=99, file_name="offer.pdf"))
    installations = FakeInstallations(found)
    w.deps = replace(w.deps, installations=installations)
    assert await w.run() == "failed: sender_uninstalled"
    assert installations.asked == [(3, 42)]
    assert w.outbox.calls == [("mark_failed", 17, *SENDER_GONE)]
    assert w.transport.sent == [] and w.transport.looked == [] and w.inbox.messages == []
    assert w.files.asked == []  # nothing is read from Pipedrive for it either


async def test_a_user_whose_installation_needs_reauthorisation_still_sends() -> None:
    w = world()
    w.deps = replace(w.deps, installations=FakeInstallations([installation(InstallationStatus.NEEDS_REAUTH)]))
    assert await w.run() == "sent 3EB0ABC"


async def test_a_text_is_sent_once_and_stored_in_the_inbox() -> None:
    w = world()
    assert await w.run() == "sent 3EB0ABC"
    assert w.transport.sent == [
        ("wp-acme", OutboundMessage(client_ref="ref-00017", to="+4917655501234", text="Hallo Anna"))
    ]
    assert w.transport.looked == []
    assert w.outbox.calls == [
        ("start_attempt", 17, NOW),
        ("mark_sent", 17, "3EB0ABC", "wp-acme/out/3EB0ABC"),
    ]
    chat = Peer("4917655501234@s.whatsapp.net", e164="+4917655501234")
    assert w.inbox.chats == [(5, chat, ACCEPTED)]
    assert w.inbox.messages == [
        (
            5,
            55,
            InboundMessage(
                account_id="wp-acme",
                wa_message_id="3EB0ABC",
                chat=chat,
                sender=Peer("4930123456789@s.whatsapp.net", e164="+4930123456789"),
                from_me=True,
                sent_at=ACCEPTED,
                text="Hallo Anna",
                media=None,
                from_api=True,
                transport_id="true_4917655501234@c.us_3EB0ABC",
            ),
        )
    ]
    assert w.pipedrive.companies == []


async def test_a_number_without_its_own_phone_sends_as_me_and_a_chat_key_has_no_e164() -> None:
    w = world(entry(to_chat="120363025@g.us"), account=replace(ACCOUNT, e164=None))
    w.transport.chat_key = "120363025@g.us"
    assert await w.run() == "sent 3EB0ABC"
    [(_, chat, _)] = w.inbox.chats
    assert chat == Peer("120363025@g.us", e164=None)
    [(_, _, stored)] = w.inbox.messages
    assert stored.sender == Peer("me", e164=None)


async def test_after_a_send_the_chat_is_queued_for_pipedrive() -> None:
    w = world(sync=True)
    await w.run()
    assert [(function, args) for function, args, _ in w.queue.jobs if function == "sync_chat"] == [
        ("sync_chat", (55,))
    ]


async def test_an_attempt_that_went_out_is_found_and_not_sent_again() -> None:
    started = NOW - timedelta(minutes=2)
    w = world(entry(status="sending", attempts=1, attempt_started_at=started))
    message = OutboundMessage(client_ref="ref-00017", to="+4917655501234", text="Hallo Anna")
    w.transport.already = w.transport.result("wp-acme", message)
    assert await w.run() == "sent 3EB0ABC"
    assert w.transport.looked == [("wp-acme", message, started - timedelta(seconds=30))]
    assert w.transport.sent == []
    assert w.outbox.calls == [("mark_sent", 17, "3EB0ABC", "wp-acme/out/3EB0ABC")]
    assert len(w.inbox.messages) == 1


async def test_an_attempt_that_did_not_go_out_is_sent_again() -> None:
    started = NOW - timedelta(minutes=2)
    w = world(entry(status="sending", attempts=1, attempt_started_at=started))
    assert await w.run() == "sent 3EB0ABC"
    assert len(w.transport.looked) == 1 and len(w.transport.sent) == 1
    assert w.outbox.calls[0] == ("start_attempt", 17, NOW)


@pytest.mark.parametrize(
    "row",
    [entry(status="sending", attempt_started_at=None), entry(status="queued", attempt_started_at=NOW)],
    ids=["sending without a start", "queued"],
)
async def test_only_an_uncertain_attempt_is_looked_up(row: OutboxEntry) -> None:
    w = world(row)
    assert await w.run() == "sent 3EB0ABC"
    assert w.transport.looked == [] and len(w.transport.sent) == 1


@pytest.mark.parametrize(
    ("error", "reason", "message"),
    [
        (
            Permanent("Number not on WhatsApp", reason="not_on_whatsapp"),
            "not_on_whatsapp",
            "Number not on WhatsApp",
        ),
        (InvalidInput("Text too long", reason="message_too_long"), "message_too_long", "Text too long"),
        (WaPipeError("Odd", reason="odd"), "odd", "Odd"),
    ],
)
async def test_a_refusal_fails_the_row_by_name(error: WaPipeError, reason: str, message: str) -> None:
    w = world()
    w.transport.error = error
    assert await w.run() == f"failed: {reason}"
    assert w.outbox.calls == [("start_attempt", 17, NOW), ("mark_failed", 17, reason, message)]
    assert w.inbox.messages == []


@pytest.mark.parametrize("job_try", [None, 1, 7])
async def test_a_transient_failure_is_retried(job_try: int | None) -> None:
    w = world(job_try=job_try)
    error = Transient("WAHA is restarting", reason="upstream_unavailable")
    w.transport.error = error
    with pytest.raises(Retry) as retried:
        await w.run()
    assert retried.value.__cause__ is error
    assert w.outbox.calls == [("start_attempt", 17, NOW)]


@pytest.mark.parametrize("job_try", [8, 9])
async def test_the_eighth_transient_failure_gives_up_by_name(job_try: int) -> None:
    w = world(job_try=job_try)
    w.transport.error = Transient("WAHA is restarting", reason="upstream_unavailable")
    assert await w.run() == "failed: upstream_unavailable"
    assert w.outbox.calls[-1] == (
        "mark_failed",
        17,
        "upstream_unavailable",
        "WAHA is restarting (gave up after 8 tries)",
    )


@pytest.mark.parametrize(
    ("file_name", "kind", "mime"),
    [
        ("photo.jpg", MediaKind.IMAGE, "image/jpeg"),
        ("logo.svg", MediaKind.DOCUMENT, "image/svg+xml"),
        ("clip.mp4", MediaKind.VIDEO, "video/mp4"),
        ("voice.mp3", MediaKind.AUDIO, "audio/mpeg"),
        ("offer.pdf", MediaKind.DOCUMENT, "application/pdf"),
        ("README", MediaKind.DOCUMENT, "application/octet-stream"),
    ],
)
async def test_a_pipedrive_file_is_attached_as_its_kind(file_name: str, kind: MediaKind, mime: str) -> None:
    w = world(entry(file_id=99, file_name=file_name, text="See attached"))
    assert await w.run() == "sent 3EB0ABC"
    media = OutboundMedia(kind=kind, mime=mime, filename=file_name, data=b"%PDF-1.7 offer")
    assert w.transport.sent == [
        (
            "wp-acme",
            OutboundMessage(client_ref="ref-00017", to="+4917655501234", text="See attached", media=media),
        )
    ]
    assert (w.pipedrive.companies, w.files.asked) == ([3], [99])
    [(_, _, stored)] = w.inbox.messages
    assert stored.media == MediaRef(kind=kind, locator=None, mime=mime, filename=file_name)
    assert stored.text == "See attached"


async def test_a_file_without_a_name_or_caption_is_sent_bare() -> None:
    w = world(entry(file_id=99, file_name="", text=""))
    await w.run()
    [(_, message)] = w.transport.sent
    assert message.text is None
    assert message.media == OutboundMedia(
        kind=MediaKind.DOCUMENT, mime="application/octet-stream", filename=None, data=b"%PDF-1.7 offer"
    )
    [(_, _, stored)] = w.inbox.messages
    assert stored.text is None


async def test_a_file_deleted_in_pipedrive_fails_the_row_by_name() -> None:
    w = world(entry(file_id=99, file_name="offer.pdf"), file=None)
    assert await w.run() == "failed: attachment_missing"
    assert w.outbox.calls == [("mark_failed", 17, "attachment_missing", "The file was deleted in Pipedrive")]
    assert w.transport.sent == []


async def test_a_file_sent_again_is_read_from_pipedrive_once_per_worker_for_ten_minutes() -> None:
    first, again = entry(file_id=99, file_name="offer.pdf"), entry(id=18, file_id=99, file_name="offer.pdf")
    w = world(first)
    w.outbox.rows[18] = again
    assert await w.run(17) == "sent 3EB0ABC"
    assert await w.run(18) == "sent 3EB0ABC"
    assert w.files.asked == [99]  # the campaign's second message reuses the bytes
    sent = [message.media.data for _, message in w.transport.sent if message.media is not None]
    assert sent == [b"%PDF-1.7 offer", b"%PDF-1.7 offer"]
    assert w.deps.sent_files.get((4, 99), NOW) is None  # another company's file 99 is its own

    w.deps.clock.at = NOW + timedelta(minutes=10)  # type: ignore[attr-defined]
    await w.run(17)
    assert w.files.asked == [99, 99]  # read again after ten minutes


async def test_a_file_larger_than_16_mb_is_not_kept() -> None:
    w = world(entry(file_id=99, file_name="big.pdf"), file=b"x" * (16 * MIB + 1))
    w.outbox.rows[18] = entry(id=18, file_id=99, file_name="big.pdf")
    await w.run(17)
    await w.run(18)
    assert w.files.asked == [99, 99]
    w = world(entry(file_id=99, file_name="big.pdf"), file=b"x" * (16 * MIB))
    w.outbox.rows[18] = entry(id=18, file_id=99, file_name="big.pdf")
    await w.run(17)
    await w.run(18)
    assert w.files.asked == [99]


async def test_a_file_of_64_mb_is_sent_and_one_byte_more_is_refused() -> None:
    w = world(entry(file_id=99, file_name="big.pdf"), file=b"x" * (64 * MIB))
    assert await w.run() == "sent 3EB0ABC"
    w = world(entry(file_id=99, file_name="big.pdf"), file=b"x" * (64 * MIB + 1))
    assert await w.run() == "failed: attachment_too_large"


async def test_a_too_large_file_says_how_large() -> None:
    w = world(entry(file_id=99, file_name="film.mov"), file=b"x" * (100 * MIB + 5))
    assert await w.run() == "failed: attachment_too_large"
    assert w.outbox.calls == [
        ("mark_failed", 17, "attachment_too_large", "film.mov is 100 MB; WhatsApp takes up to 64 MB")
    ]
    assert w.transport.sent == []


async def test_a_retry_waits_at_least_as_long_as_the_upstream_asks() -> None:
    w = world(job_try=2)
    w.transport.error = Transient("WAHA is busy", reason="rate_limited", retry_after=120)
    with pytest.raises(Retry) as retried:
        await w.run()
    assert retried.value.defer_score == 120_000


async def test_the_job_refuses_to_run_without_an_installation_store() -> None:
    w = world()
    w.deps = replace(w.deps, installations=None)
    with pytest.raises(RuntimeError) as refused:
        await w.run()
    assert str(refused.value) == ("the jobs' dependencies hold no installation store (JobDeps.installations)")
    assert w.outbox.calls == [] and w.transport.sent == []


async def test_a_row_with_a_file_refuses_to_run_without_the_pipedrive_connector() -> None:
    w = world(entry(file_id=99, file_name="offer.pdf"))
    w.deps = replace(w.deps, pipedrive=None)
    with pytest.raises(RuntimeError) as refused:
        await w.run()
    assert str(refused.value) == "a send with a Pipedrive file needs the Pipedrive connector"
    assert w.transport.sent == []


async def test_what_we_sent_with_a_file_is_handed_on_to_be_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    kept: list[tuple[Any, Any, Any, SentAttachment]] = []

    async def keep(
        store: Any, files: Any, pipedrive: Any, sent: SentAttachment, *, known: Any, now: datetime
    ) -> None:
        assert known is w.deps.file_places and now == NOW  # where files are, kept by the worker
        kept.append((store, files, pipedrive, sent))

    monkeypatch.setattr(send, "keep_sent_attachment", keep)
    row = entry(file_id=99, file_name="offer.pdf", text="See attached")
    disk, store = object(), object()
    w = world(row)
    w.deps = replace(w.deps, media_files=disk, sync_store=store)
    assert await w.run() == "sent 3EB0ABC"
    [(_, _, stored)] = w.inbox.messages
    media = OutboundMedia(
        kind=MediaKind.DOCUMENT, mime="application/pdf", filename="offer.pdf", data=b"%PDF-1.7 offer"
    )
    assert kept == [(store, disk, w.pipedrive, SentAttachment(row, 5, stored.key, media))]
    assert stored.key == "wp-acme/out/3EB0ABC"  # the key the gateway's echo will carry

    kept.clear()
    text_only = world()
    text_only.deps = replace(text_only.deps, media_files=disk, sync_store=store)
    assert await text_only.run() == "sent 3EB0ABC"
    assert kept == []  # nothing to keep without a file

    no_disk = world(row)  # a runner without attachment storage keeps nothing (the sync downloads it)
    assert no_disk.deps.media_files is None
    assert await no_disk.run() == "sent 3EB0ABC"
    assert kept == []
