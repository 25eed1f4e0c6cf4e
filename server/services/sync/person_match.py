"""Linking a chat to a Pipedrive Person.

Order: the stored link; the company's local phone index (free), which applies the rules in order:
exact (the full international number however it was typed), country variant, then fuzzy (at least 8
trailing digits agree, and only for a stored phone that is no whole number: see ``domain.matching``).
National numbers are read in the company's country, that of the WhatsApp number the chat came in on (the
chat's own while that number is not known), so "0151 1234 5678" in a German company is +49 151 12345678
and never a chat from +52 55 1234 5678.
On a miss the index is refreshed from Pipedrive (``updated_since``,
one list request shared by every chat waiting) and asked again, so a Person added a moment ago is
found and an unknown number costs no search. Then, with auto-add on, a new Person named by the
WhatsApp profile name (else the number) with the number in E.164, owned by the number owner's
Pipedrive user (else an admin). With auto-add off the chat stays unlinked and is looked up again only
after ``research_unlinked_after``. The rule that matched and the other candidates are kept for the
panel. A group becomes a Person of its own, named after the group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from server.domain.matching import MatchRule, match_search_hits
from server.domain.phone_numbers import region_of
from server.domain.sync import ChatLink, CrmPerson, LinkState, NewPerson, SyncChat, SyncSettings
from server.services.sync.context import SyncContext
from server.services.sync.intents import create_once
from server.services.sync.owner import owner_for
from server.services.sync.phone_index import company_index, person_phones, remember_person


@dataclass
class MatchStats:
    searches: int = 0
    index_refreshes: int = 0
    index_hit: bool = False
    created: bool = False


async def link_person(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings, stats: MatchStats
) -> ChatLink:
    """``link`` with a Person (state ``linked``), or in state ``unlinked``; saved."""
    if link.person_id is not None and link.state is LinkState.LINKED:
        return link
    if chat.is_group:
        linked = await _group_person(ctx, chat, link, settings, stats)
    else:
        linked = await _person_for_number(ctx, chat, link, settings, stats)
    await ctx.store.save_link(linked)
    return linked


async def _person_for_number(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings, stats: MatchStats
) -> ChatLink:
    assert chat.e164 is not None
    now = ctx.clock()
    if (
        link.state is LinkState.UNLINKED
        and link.searched_at is not None
        and now - link.searched_at < ctx.config.research_unlinked_after
        and not settings.auto_add_persons
    ):
        return link
    region = region_of(chat.account_e164 or chat.e164)
    key_field = settings.person_link_field_key
    index = await company_index(ctx, chat.company_id, region=region, link_field_key=key_field)
    result = index.match(chat.e164)
    if result is None:  # not known a moment ago: ask Pipedrive what changed since, then look again
        index = await company_index(ctx, chat.company_id, region=region, link_field_key=key_field, fresh=True)
        stats.index_refreshes += 1
        result = index.match(chat.e164)
    stats.index_hit = result is not None
    if result is not None:
        name = link.person_name or await ctx.index_store.person_name(chat.company_id, result.person_id)
        return replace(
            link,
            state=LinkState.LINKED,
            person_id=result.person_id,
            person_name=name or "",
            rule=result.rule.value,
            alternatives=result.alternatives,
        )
    if not settings.auto_add_persons:
        return replace(link, state=LinkState.UNLINKED, searched_at=now, rule="", alternatives=())
    person = await _create_person(ctx, chat, settings, chat.e164)
    stats.created = True
    return replace(
        link,
        state=LinkState.LINKED,
        person_id=person.id,
        person_name=person.name,
        rule=MatchRule.CREATED.value,
        alternatives=(),
        person_link_url=person.link_value,
    )


async def _create_person(ctx: SyncContext, chat: SyncChat, settings: SyncSettings, e164: str) -> CrmPerson:
    """One Person per number per company, whichever chat or worker asks first."""
    name = (chat.display_name or "").strip()[:255] or e164
    url = ctx.chat_url(chat.id)
    created: list[CrmPerson] = []

    async def find() -> str | None:
        hits = await ctx.crm.search_persons("+" + e164.lstrip("+"), exact=True)
        found = match_search_hits(e164, [person_phones(hit) for hit in hits])
        return str(found.person_id) if found is not None else None

    async def create() -> str:
        custom = {settings.person_link_field_key: url} if settings.person_link_field_key else {}
        person = await ctx.crm.create_person(NewPerson(name, e164, await owner_for(ctx, chat), custom))
        created.append(person)
        return str(person.id)

    person_id = int(
        await create_once(ctx, chat.company_id, f"person:{chat.company_id}:{e164}", find=find, create=create)
    )
    person = created[0] if created else CrmPerson(person_id, name, (e164,))
    if created:
        person = replace(person, link_value=url if settings.person_link_field_key else "")
    await remember_person(ctx, chat.company_id, person)
    return person


async def _group_person(
    ctx: SyncContext, chat: SyncChat, link: ChatLink, settings: SyncSettings, stats: MatchStats
) -> ChatLink:
    """A group is logged on a Person of its own, named after the group and found by its chat link."""
    name = (chat.display_name or "").strip()[:255] or "WhatsApp group"
    url = ctx.chat_url(chat.id)
    key_field = settings.person_link_field_key

    async def find() -> str | None:
        if not key_field:
            return None
        hits = await ctx.crm.search_persons(url, exact=True, field="custom_fields")
        stats.searches += 1
        return str(hits[0].id) if hits else None

    async def create() -> str:
        custom = {key_field: url} if key_field else {}
        person = await ctx.crm.create_person(NewPerson(name, None, await owner_for(ctx, chat), custom))
        return str(person.id)

    key = f"group:{chat.company_id}:{chat.account_id}:{chat.chat_key}"
    person_id = int(await create_once(ctx, chat.company_id, key, find=find, create=create))
    stats.created = True
    return replace(
        link,
        state=LinkState.LINKED,
        person_id=person_id,
        person_name=name,
        rule=MatchRule.CREATED.value,
        alternatives=(),
        person_link_url=url if key_field else "",
    )
