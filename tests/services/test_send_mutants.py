"""Sending from Pipedrive, at the service: each refusal by name and message, what reaches the outbox, and
that only a new row is queued and audited."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from server.domain.errors import InvalidInput, NotFound, WaPipeError
from server.domain.models import Account, OutboxEntry
from server.domain.send_echoes import send_fingerprint
from server.domain.whatsapp import MAX_TEXT_LENGTH, OutboundMessage
from server.services.send import SendRequest, SendService, recipient, send_job_id

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
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
class FakeAccounts:
    accounts: list[Account]
    asked: list[tuple[int, int]] = field(default_factory=list)

    async def get(self, company_id: int, account_id: int) -> Account | None:
        self.asked.append((company_id, account_id))
        return next((a for a in self.accounts if (a.company_id, a.id) == (company_id, account_id)), None)


@dataclass
class FakeOutbox:
    existing: bool = False
    created: list[dict[str, Any]] = field(default_factory=list)

    async def create(self, **values: Any) -> tuple[OutboxEntry, bool]:
        self.created.append(values)
        row = OutboxEntry(
            id=17,
            client_ref=values["client_ref"],
            company_id=values["company_id"],
            account_id=values["account_id"],
            requested_by=values["requested_by"],
            to_chat=values["to_chat"],
            person_id=values["person_id"],
            deal_id=values["deal_id"],
            text=values["text"],
            file_id=values["file_id"],
            file_name=values["file_name"],
            status="queued",
            attempts=0,
            attempt_started_at=None,
            wa_message_id=None,
            message_key=None,
            error_reason="",
            error_message="",
            created_at=NOW,
        )
        return row, not self.existing


@dataclass
class FakeQueue:
    jobs: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    async def enqueue(self, function: str, *args: Any, **kwargs: Any) -> bool:
        self.jobs.append((function, args, kwargs))
        return True


@dataclass
class FakeAudit:
    records: list[tuple[Any, ...]] = field(default_factory=list)

    async def record(
        self, company_id: int, actor_user_id: int, action: str, subject: str, details: dict[str, object]
    ) -> None:
        self.records.append((company_id, actor_user_id, action, subject, details))


@dataclass
class Service:
    accounts: FakeAccounts
    outbox: FakeOutbox
    queue: FakeQueue
    audit: FakeAudit
    service: SendService


def service(account: Account = ACCOUNT, *, existing: bool = False, audit: bool = True) -> Service:
    accounts, outbox, queue, log = FakeAccounts([account]), FakeOutbox(existing), FakeQueue(), FakeAudit()
    return Service(accounts, outbox, queue, log, SendService(accounts, outbox, queue, log if audit else None))


def send_request(**changes: Any) -> SendRequest:
    base = SendRequest(client_ref="ref-00017", account_id=5, to="+49 176 55501234", text="Hallo Anna")
    return replace(base, **changes)


async def refusal(s: Service, request: SendRequest) -> WaPipeError:
    with pytest.raises(WaPipeError) as refused:
        await s.service.request(3, 42, request)
    assert s.outbox.created == [] and s.queue.jobs == [] and s.audit.records == []
    return refused.value


def test_the_job_id_and_the_limit() -> None:
    assert send_job_id(17) == "send:17"
    assert MAX_TEXT_LENGTH == 4096


async def test_a_send_is_stored_queued_and_audited() -> None:
    s = service()
    entry, created = await s.service.request(3, 42, send_request(person_id=11, deal_id=12))
    assert created is True and entry.id == 17
    assert s.accounts.asked == [(3, 5)]
    assert s.outbox.created == [
        {
            "client_ref": "ref-00017",
            "company_id": 3,
            "account_id": 5,
            "requested_by": 42,
            "to_chat": "+4917655501234",
            "text": "Hallo Anna",
            "fingerprint": send_fingerprint(
                OutboundMessage(client_ref="ref-00017", to="+4917655501234", text="Hallo Anna")
            ),
            "person_id": 11,
            "deal_id": 12,
            "file_id": None,
            "file_name": "",
        }
    ]
    assert s.queue.jobs == [("send_outbox", (17,), {"job_id": "send:17"})]
    assert s.audit.records == [
        (3, 42, "message.send", "+4917655501234", {"outbox": 17, "from": "+4930123456789", "file": ""})
    ]


async def test_the_text_is_trimmed_and_a_file_alone_is_a_media_send() -> None:
    s = service(replace(ACCOUNT, e164=None))
    await s.service.request(3, 42, send_request(text="  \n ", file_id=99, file_name="offer.pdf"))
    [created] = s.outbox.created
    assert (created["text"], created["fingerprint"], created["file_id"], created["file_name"]) == (
        "",
        "media",
        99,
        "offer.pdf",
    )
    assert s.audit.records[0][4] == {"outbox": 17, "from": "", "file": "offer.pdf"}


async def test_a_trimmed_text_is_what_is_stored() -> None:
    s = service()
    await s.service.request(3, 42, send_request(text="  Hallo Anna \n"))
    assert s.outbox.created[0]["text"] == "Hallo Anna"


async def test_a_repeated_click_is_neither_queued_nor_audited_again() -> None:
    s = service(existing=True)
    entry, created = await s.service.request(3, 42, send_request())
    assert created is False and entry.id == 17
    assert len(s.outbox.created) == 1
    assert s.queue.jobs == [] and s.audit.records == []


async def test_without_an_audit_log_a_send_still_goes_out() -> None:
    s = service(audit=False)
    _, created = await s.service.request(3, 42, send_request())
    assert created is True and len(s.queue.jobs) == 1


@pytest.mark.parametrize("client_ref", ["abcd-_12", "A" * 64])
async def test_client_refs_of_8_to_64_safe_characters_are_accepted(client_ref: str) -> None:
    _, created = await service().service.request(3, 42, send_request(client_ref=client_ref))
    assert created is True


@pytest.mark.parametrize("client_ref", ["", "abcd-_1", "A" * 65, "ref-0001.", "ref 00017", "réf-00017"])
async def test_other_client_refs_are_refused(client_ref: str) -> None:
    error = await refusal(service(), send_request(client_ref=client_ref))
    assert isinstance(error, InvalidInput)
    assert (error.reason, error.message) == (
        "invalid_request",
        "The form was not sent completely; reload the panel",
    )


async def test_an_empty_message_is_refused() -> None:
    error = await refusal(service(), send_request(text=" \n\t "))
    assert isinstance(error, InvalidInput)
    assert (error.reason, error.message) == ("empty_message", "Type a message or choose a file to send")


async def test_4096_characters_are_sent_and_4097_refused() -> None:
    _, created = await service().service.request(3, 42, send_request(text=" " + "a" * 4096 + " "))
    assert created is True
    error = await refusal(service(), send_request(text="a" * 4097))
    assert isinstance(error, InvalidInput)
    assert error.reason == "message_too_long"
    assert error.message == "WhatsApp messages are limited to 4096 characters; this one has 4097"


@pytest.mark.parametrize("account_id", [6, 5])
async def test_a_number_of_another_company_or_none_is_unknown(account_id: int) -> None:
    s = service(replace(ACCOUNT, company_id=4))
    error = await refusal(s, send_request(account_id=account_id))
    assert isinstance(error, NotFound)
    assert (error.reason, error.message) == (
        "unknown_from_number",
        "That WhatsApp number is not linked in this company",
    )


async def test_a_disconnected_number_is_refused_with_why() -> None:
    error = await refusal(service(replace(ACCOUNT, status="logged_out", status_detail="")), send_request())
    assert isinstance(error, InvalidInput)
    assert error.reason == "from_disconnected"
    assert error.message == (
        "+4930123456789 is not connected – logged out on the phone: link it again. "
        "Link it again on the WhatsApp numbers page"
    )


async def test_a_disconnected_number_without_its_own_phone_is_named_else_that_number() -> None:
    account = replace(ACCOUNT, e164=None, status="failed", status_detail="gateway not reachable")
    error = await refusal(service(account), send_request())
    assert error.message == (
        "Acme is not connected – gateway not reachable. Link it again on the WhatsApp numbers page"
    )
    error = await refusal(service(replace(account, display_name="")), send_request())
    assert error.message == (
        "That number is not connected – gateway not reachable. Link it again on the WhatsApp numbers page"
    )


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+49 176 55501234", None, "+4917655501234"),
        ("0049 176 55501234", None, "+4917655501234"),
        ("0176 55501234", "DE", "+4917655501234"),
        ("0176 55501234", "de", "+4917655501234"),
        ("+49 176 55501234", "US", "+4917655501234"),
    ],
)
def test_recipient_reads_the_number(raw: str, region: str | None, e164: str) -> None:
    assert recipient(raw, region) == e164


def test_a_group_is_sent_to_under_its_chat_key() -> None:
    assert recipient("120363041234567890@g.us", None) == "120363041234567890@g.us"
    with pytest.raises(InvalidInput) as refused:
        recipient("not a group@g.us", None)
    assert (refused.value.reason, refused.value.message) == (
        "number_invalid",
        "not a group@g.us is not a WhatsApp group",
    )


@pytest.mark.parametrize("raw", ["", "   "])
def test_a_person_without_a_phone_is_named(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        recipient(raw, "DE")
    assert (refused.value.reason, refused.value.message) == (
        "no_phone_on_person",
        "This person has no phone number; add one in Pipedrive",
    )


@pytest.mark.parametrize("region", [None, ""])
def test_a_national_number_needs_a_country(region: str | None) -> None:
    with pytest.raises(InvalidInput) as refused:
        recipient("0176 55501234", region)
    assert (refused.value.reason, refused.value.message) == (
        "country_code_needed",
        "0176 55501234 has no country code: choose the country it belongs to",
    )


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("0123", "DE", "0123 is not a valid phone number for DE"),
        ("+999 1234", "DE", "+999 1234 is not a valid phone number"),
        ("+999 1234", None, "+999 1234 is not a valid phone number"),
    ],
)
def test_an_unreadable_number_is_named(raw: str, region: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        recipient(raw, region)
    assert (refused.value.reason, refused.value.message) == ("number_invalid", message)


async def test_a_national_number_is_read_in_the_country_the_form_names() -> None:
    s = service()
    await s.service.request(3, 42, send_request(to="0176 55501234", region="DE"))
    assert s.outbox.created[0]["to_chat"] == "+4917655501234"
    assert s.audit.records[0][3] == "+4917655501234"
