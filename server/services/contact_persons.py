"""Opening or creating the Person behind a shared contact card (issue 17).

Shown: each card's numbers matched against the company's stored phone index (no Pipedrive request, so a
panel polling every few seconds costs nothing), with the matched Person's name.

Created on request, once: the chosen number is matched again in the stored index, then a write-ahead
intent is claimed under the same key the sync uses for a number's Person (``person:<company>:<e164>``), so
a double click, a retry or a chat from that number arriving meanwhile all end with one Person. Pipedrive is
searched (exact, then by the number's last digits, as the sync's searches) before anything is created;
only when nothing matches is the Person created with the card's name and its readable numbers in E.164,
and put into the stored index at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.contact_cards import (
    CardNumber,
    CardView,
    card_numbers,
    new_person_phones,
    person_name,
)
from server.domain.errors import InvalidInput, Transient
from server.domain.matching import PersonPhones, PhoneIndex, match_search_hits, plan_searches
from server.domain.message_kinds import SharedContacts
from server.domain.ports.pipedrive import PersonWriter
from server.domain.ports.sync_store import ContactCardIndex, IntentStore
from server.domain.sync import CrmPerson
from server.domain.text import Text

CREATE_LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class CardPerson:
    person_id: int
    name: str
    created: bool  # False: a Person already had the number


async def load_index(store: ContactCardIndex, company_id: int, region: str | None) -> PhoneIndex:
    index = PhoneIndex(region)
    index.apply(await store.persons(company_id))
    return index


async def card_views(
    details: SharedContacts,
    message_id: int,
    *,
    company_id: int,
    region: str | None,
    index: PhoneIndex,
    store: ContactCardIndex,
) -> tuple[CardView, ...]:
    """Each card of a message with its numbers' actions (the surface adds its URLs)."""
    views = []
    for position, card in enumerate(details.cards):
        numbers = card_numbers(card, region, index, {})
        names = {}
        for number in numbers:
            if number.person_id is not None and number.person_id not in names:
                names[number.person_id] = await store.person_name(company_id, number.person_id) or ""
        numbers = tuple(
            CardNumber(n.typed, n.e164, n.person_id, names.get(n.person_id, "")) if n.person_id else n
            for n in numbers
        )
        views.append(CardView(message_id, position, card.name, numbers))
    return tuple(views)


def chosen_number(card: CardView, position: int) -> CardNumber:
    """The number asked for, readable: ``InvalidInput`` names why not."""
    if not 0 <= position < len(card.numbers):
        raise InvalidInput(Text("That number is not on the contact card"), reason="card_number_missing")
    number = card.numbers[position]
    if number.e164 is None:
        raise InvalidInput(
            Text(
                "%(number)s is not a phone number WaPipe can read, so no Person is made from it",
                number=number.typed,
            ),
            reason="card_number_unreadable",
        )
    return number


async def open_or_create(
    card: CardView,
    position: int,
    *,
    company_id: int,
    region: str | None,
    store: ContactCardIndex,
    intents: IntentStore,
    crm: PersonWriter,
    owner_id: int | None,
    worker: str,
    now: datetime,
) -> CardPerson:
    """The Person for the card's number at ``position``: one that has it, else one created once."""
    number = chosen_number(card, position)
    assert number.e164 is not None
    if number.person_id is not None:
        return CardPerson(number.person_id, number.person_name, created=False)
    key = f"person:{company_id}:{number.e164}"
    claim = await intents.claim_intent(company_id, key, owner=worker, lease=CREATE_LEASE, now=now)
    if claim is None:
        raise Transient(
            Text(
                "A Person for %(number)s is being created right now; try again in a moment",
                number=number.e164,
            ),
            reason="person_being_created",
        )
    if claim.result is not None:
        person_id = int(claim.result)
        return CardPerson(person_id, await store.person_name(company_id, person_id) or "", created=False)
    try:
        found = await _search(crm, number.e164, region)
        if found is not None:
            await store.save_persons(company_id, [found])
            result = CardPerson(found.id, found.name, created=False)
        else:
            name = person_name(card.name, number.e164)
            phones = new_person_phones(card.numbers, position)
            made = await crm.create_person_with_phones(name, phones, owner_id)
            await store.save_persons(company_id, [made])
            result = CardPerson(made.id, made.name, created=True)
    except Exception:
        await intents.release_intent(key)  # a retry claims it at once, and searches before creating
        raise
    await intents.complete_intent(key, str(result.person_id), now=now)
    return result


async def _search(crm: PersonWriter, e164: str, region: str | None) -> CrmPerson | None:
    """Pipedrive's phone searches, cheapest first, read as the sync reads them."""
    for step in plan_searches(e164):
        hits = await crm.search_persons(step.term, exact=step.exact_match)
        found = match_search_hits(e164, [PersonPhones(h.id, h.phones) for h in hits], default_region=region)
        if found is not None:
            return next(hit for hit in hits if hit.id == found.person_id)
    return None
