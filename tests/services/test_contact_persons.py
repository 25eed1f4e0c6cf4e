"""Creating the Person of a shared contact card once: a number the index knows is opened, a create another
request holds is refused by name, a create already done is returned, a Person Pipedrive's search finds is
taken instead of a new one, and a failed create leaves its claim free for the retry. In-memory stand-ins
for the stores and Pipedrive; each step's calls are written out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from server.domain.contact_cards import CardNumber, CardView
from server.domain.errors import InvalidInput, Transient
from server.domain.matching import PersonPhones
from server.domain.sync import CrmPerson, IntentClaim
from server.services.contact_persons import CardPerson, open_or_create

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
KEY = "person:3:+491701234567"
CARD = CardView(
    41,
    0,
    "Jo Beispiel",
    (
        CardNumber("+49 176 55509999", "+4917655509999", 7, "Lokal Lisa"),
        CardNumber("+49 170 1234567", "+491701234567"),
        CardNumber("call me", None),
        CardNumber("0170 7654321", "+491707654321"),
    ),
)


class Store:
    def __init__(self) -> None:
        self.saved: list[CrmPerson] = []

    async def persons(self, company_id: int) -> list[PersonPhones]:
        return []

    async def person_name(self, company_id: int, person_id: int) -> str | None:
        return {12: "Jo aus dem Index"}.get(person_id)

    async def save_persons(self, company_id: int, persons: Sequence[CrmPerson]) -> None:
        self.saved += persons


class Intents:
    def __init__(self, claim: IntentClaim | None) -> None:
        self.claim = claim
        self.calls: list[tuple[str, ...]] = []

    async def claim_intent(
        self, company_id: int, key: str, *, owner: str, lease: timedelta, now: datetime
    ) -> IntentClaim | None:
        self.calls.append(("claim", key, owner))
        return self.claim

    async def complete_intent(self, key: str, result: str, *, now: datetime) -> None:
        self.calls.append(("complete", key, result))

    async def release_intent(self, key: str) -> None:
        self.calls.append(("release", key))


class Pipedrive:
    def __init__(self, hits: dict[str, list[CrmPerson]] | None = None, *, fail: bool = False) -> None:
        self.hits = hits or {}
        self.fail = fail
        self.searched: list[tuple[str, bool]] = []
        self.created: list[tuple[str, tuple[str, ...], int | None]] = []

    async def search_persons(self, term: str, *, exact: bool, field: str = "phone") -> list[CrmPerson]:
        self.searched.append((term, exact))
        return self.hits.get(term, [])

    async def create_person_with_phones(
        self, name: str, phones: Sequence[str], owner_id: int | None
    ) -> CrmPerson:
        if self.fail:
            raise Transient("Pipedrive answered 500", reason="pipedrive_unavailable")
        self.created.append((name, tuple(phones), owner_id))
        return CrmPerson(99, name, tuple(phones))


async def run(position: int, intents: Intents, crm: Pipedrive, store: Store | None = None) -> CardPerson:
    return await open_or_create(
        CARD,
        position,
        company_id=3,
        region="DE",
        store=store or Store(),
        intents=intents,
        crm=crm,
        owner_id=5,
        worker="web:5",
        now=NOW,
    )


async def test_a_number_the_index_knows_opens_its_person_and_claims_nothing() -> None:
    intents, crm = Intents(IntentClaim(KEY, 0)), Pipedrive()
    person = await run(0, intents, crm)
    assert (person.person_id, person.name, person.created) == (7, "Lokal Lisa", False)
    assert intents.calls == [] and crm.searched == [] and crm.created == []


async def test_a_free_number_is_searched_then_created_with_the_cards_free_numbers() -> None:
    intents, crm, store = Intents(IntentClaim(KEY, 0)), Pipedrive(), Store()
    person = await run(1, intents, crm, store)
    assert (person.person_id, person.name, person.created) == (99, "Jo Beispiel", True)
    assert crm.searched == [("+491701234567", True), ("491701234567", True), ("701234567", False)]
    assert crm.created == [("Jo Beispiel", ("+491701234567", "+491707654321"), 5)]
    assert intents.calls == [("claim", KEY, "web:5"), ("complete", KEY, "99")]
    assert [p.id for p in store.saved] == [99]


async def test_a_person_pipedrives_search_finds_is_taken_instead_of_a_new_one() -> None:
    found = CrmPerson(12, "Jo im Pipedrive", ("0170 1234567",))
    intents, crm = Intents(IntentClaim(KEY, 1)), Pipedrive({"701234567": [found]})
    person = await run(1, intents, crm)
    assert (person.person_id, person.name, person.created) == (12, "Jo im Pipedrive", False)
    assert crm.created == [] and intents.calls[-1] == ("complete", KEY, "12")


async def test_a_create_already_done_is_returned_without_asking_pipedrive() -> None:
    intents, crm = Intents(IntentClaim(KEY, 1, "12")), Pipedrive()
    person = await run(1, intents, crm)
    assert (person.person_id, person.name, person.created) == (12, "Jo aus dem Index", False)
    assert crm.searched == [] and crm.created == [] and intents.calls == [("claim", KEY, "web:5")]


async def test_a_create_another_request_holds_is_refused_by_name() -> None:
    intents, crm = Intents(None), Pipedrive()
    with pytest.raises(Transient) as refused:
        await run(1, intents, crm)
    assert refused.value.reason == "person_being_created"
    assert crm.searched == [] and crm.created == []


async def test_a_failed_create_frees_its_claim_and_creates_nothing() -> None:
    intents, crm, store = Intents(IntentClaim(KEY, 0)), Pipedrive(fail=True), Store()
    with pytest.raises(Transient):
        await run(1, intents, crm, store)
    assert intents.calls == [("claim", KEY, "web:5"), ("release", KEY)] and store.saved == []


@pytest.mark.parametrize(("position", "reason"), [(2, "card_number_unreadable"), (4, "card_number_missing")])
async def test_a_number_that_is_no_number_or_not_on_the_card_is_named(position: int, reason: str) -> None:
    intents, crm = Intents(IntentClaim(KEY, 0)), Pipedrive()
    with pytest.raises(InvalidInput) as refused:
        await run(position, intents, crm)
    assert refused.value.reason == reason and intents.calls == []
