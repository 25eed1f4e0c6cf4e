"""The settings page's re-check list: chats linked by matching to a Person the current rules would not link
them to, and an admin's two answers, **keep** and **re-link**. Nothing moves until an admin decides.

The list is computed on demand from the stored links and the phone index (no Pipedrive request), a page at
a time in chat-id order; one request reads at most ``SCAN_LIMIT`` links, so a large company is paged
rather than read whole. Keep turns the link into a manual one (a manual link is never listed). Re-link runs
matching now on the stored phone index, as the engine does, and links the chat to what it finds (the days
already written follow, as after a re-link in the panel); when nothing matches, the link is cleared and the
engine matches the chat again at its next sync, creating a Person when auto-add is on. Both refuse, as
``link_changed``, a link that is no longer the one the list showed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from server.domain.errors import InvalidInput, NotFound
from server.domain.link_recheck import RECHECKED_RULES, StaleLink, no_longer_matched
from server.domain.match_words import phone_match
from server.domain.matching import MatchResult, MatchRule, PhoneIndex
from server.domain.phone_compare import PhoneMatch
from server.domain.phone_numbers import region_of
from server.domain.ports.queue import JobQueue
from server.domain.ports.sync_store import MatchedLinks, PhoneIndexReader, SyncStore
from server.domain.sync import ChatLink, DealSource, LinkState
from server.domain.text import Text
from server.services.sync.links import change_link

PAGE_SIZE = 20
SCAN_LIMIT = 2000  # links read per request at most
BATCH = 500


@dataclass(frozen=True, slots=True)
class RecheckPage:
    rows: tuple[StaleLink, ...]
    next_after: int | None  # the chat id to go on after, when there may be more
    index_built: bool = True


@dataclass(frozen=True, slots=True)
class Rematched:
    """What re-link did: the link as saved, the match found (``None``: nobody has the number)."""

    before: ChatLink
    link: ChatLink
    found: MatchResult | None
    match: PhoneMatch | None
    e164: str


async def stale_links(
    links: MatchedLinks,
    index_store: PhoneIndexReader,
    company_id: int,
    *,
    after: int = 0,
    page_size: int = PAGE_SIZE,
    scan_limit: int = SCAN_LIMIT,
) -> RecheckPage:
    """The next page of links the current rules would not make, after chat id ``after``."""
    if not await index_store.is_built(company_id):
        return RecheckPage((), None, index_built=False)
    phones = {person.person_id: person.phones for person in await index_store.persons(company_id)}
    rows: list[StaleLink] = []
    scanned, cursor = 0, after
    while scanned < scan_limit:
        wanted = min(BATCH, scan_limit - scanned)
        batch = await links.matched_links(company_id, after=cursor, limit=wanted)
        for link in batch:
            scanned += 1
            cursor = link.chat_id
            mismatch = no_longer_matched(link, phones.get(link.person_id, ()))
            if mismatch is None:
                continue
            name = link.person_name or await index_store.person_name(company_id, link.person_id) or ""
            rows.append(
                StaleLink(
                    link.chat_id,
                    link.e164,
                    link.person_id,
                    name,
                    link.rule,
                    mismatch.reason,
                    mismatch.message,
                )
            )
            if len(rows) >= page_size:
                return RecheckPage(tuple(rows), link.chat_id)
        if len(batch) < wanted:
            return RecheckPage(tuple(rows), None)
    return RecheckPage(tuple(rows), cursor)


def _unchanged(link: ChatLink, person_id: int) -> None:
    """Refuse a link that is no longer the one the list showed (another admin decided, or the panel)."""
    if link.state is not LinkState.LINKED or link.person_id != person_id or link.rule not in RECHECKED_RULES:
        raise InvalidInput(
            Text("This chat's link changed since the list was shown; the list below is up to date"),
            reason="link_changed",
        )


async def keep_link(
    store: SyncStore, queue: JobQueue, company_id: int, chat_id: int, person_id: int, *, now: datetime
) -> tuple[ChatLink, ChatLink]:
    """Keep the chat on ``person_id``: the link becomes a manual one, never listed again. (before, after)"""
    before: list[ChatLink] = []

    def change(link: ChatLink) -> ChatLink:
        _unchanged(link, person_id)
        before.append(link)
        return replace(link, rule=MatchRule.MANUAL.value)

    after = await change_link(store, queue, company_id, chat_id, change, now=now, mark_dirty=False)
    return before[0], after


async def rematch_link(
    store: SyncStore,
    queue: JobQueue,
    index_store: PhoneIndexReader,
    company_id: int,
    chat_id: int,
    person_id: int,
    *,
    now: datetime,
) -> Rematched:
    """Match the chat again now and link it to what the current rules find (or to nobody yet)."""
    chat = await store.chat(chat_id)
    if chat is None or chat.company_id != company_id or chat.e164 is None:
        raise NotFound(Text("No chat %(id)s in this company", id=chat_id), reason="chat_not_found")
    e164 = chat.e164
    index = PhoneIndex(region_of(chat.account_e164 or e164))
    index.apply(await index_store.persons(company_id))
    found = index.match(e164)
    match = None
    name = ""
    if found is not None:
        match = phone_match(found.rule, found.phone, found.suffix_length, found.had_country_code)
        name = await index_store.person_name(company_id, found.person_id) or ""
    before: list[ChatLink] = []

    def change(link: ChatLink) -> ChatLink:
        _unchanged(link, person_id)
        before.append(link)
        pinned = link.pinned_deal_id
        moved = replace(
            link,
            deal_id=pinned,
            lead_id=None,
            deal_source=DealSource.PINNED if pinned else DealSource.NONE,
            deal_checked=pinned is not None,
            person_link_url="",
            deal_link_url="",
        )
        if found is None:  # the engine matches it again (and creates a Person when auto-add is on)
            return replace(
                moved,
                state=LinkState.PENDING,
                person_id=None,
                person_name="",
                rule="",
                alternatives=(),
                searched_at=None,
            )
        return replace(
            moved,
            state=LinkState.LINKED,
            person_id=found.person_id,
            person_name=name,
            rule=found.rule.value,
            alternatives=found.alternatives,
        )

    link = await change_link(store, queue, company_id, chat_id, change, now=now)
    return Rematched(before[0], link, found, match, e164)
