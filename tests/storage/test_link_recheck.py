"""The re-check list's read of stored links, on SQLite and PostgreSQL: only the company's own one-to-one
chats linked by matching, in chat-id pages; manual and created links, groups, unlinked chats and another
company's chats never."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert

from server.domain.link_recheck import MatchedLink
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.link_recheck import SqlMatchedLinks
from server.storage.tables import Chat, table_of
from server.storage.tables_sync import SyncChatLink

CHATS = table_of(Chat)
LINKS = table_of(SyncChatLink)


@pytest.fixture
async def seeded(
    migrated_database_url: str,
) -> AsyncIterator[tuple[SqlMatchedLinks, int, int, dict[str, int]]]:
    """Two companies, each with a number, and chats linked every way a link can be."""
    engine = make_async_engine(migrated_database_url)
    companies, accounts = SqlCompanyStore(engine), SqlAccountStore(engine)
    a = await companies.upsert(1, name="A", api_domain="a", timezone="UTC")
    b = await companies.upsert(2, name="B", api_domain="b", timezone="UTC")
    account_a = await accounts.create(company_id=a.id, owner_user_id=11, transport="waha", session_name="a1")
    account_b = await accounts.create(company_id=b.id, owner_user_id=21, transport="waha", session_name="b1")
    await accounts.set_number(account_a.id, "+4915112345678", "A")
    await accounts.set_number(account_b.id, "+14155550100", "B")
    rows = {
        # name: (account, company, e164, group, state, person, rule)
        "exact": (account_a.id, a.id, "+4917655501234", False, "linked", 7, "index_exact"),
        "fuzzy": (account_a.id, a.id, "+4917655501235", False, "linked", 8, "index_fuzzy"),
        "search": (account_a.id, a.id, "+4917655501236", False, "linked", 9, "search_fuzzy"),
        "variant": (account_a.id, a.id, "+5511987654321", False, "linked", 10, "country_variant"),
        "manual": (account_a.id, a.id, "+4917655501237", False, "linked", 7, "manual"),
        "created": (account_a.id, a.id, "+4917655501238", False, "linked", 7, "created"),
        "group": (account_a.id, a.id, "+4917655501241", True, "linked", 7, "index_exact"),
        "unlinked": (account_a.id, a.id, "+4917655501239", False, "unlinked", None, ""),
        "excluded": (account_a.id, a.id, "+4917655501240", False, "excluded", 7, "index_exact"),
        "other": (account_b.id, b.id, "+14155550132", False, "linked", 7, "index_exact"),
    }
    ids: dict[str, int] = {}
    async with engine.begin() as connection:
        for name, (account, company, e164, group, state, person, rule) in rows.items():
            chat_id = (
                await connection.execute(
                    insert(CHATS)
                    .values(account_id=account, chat_key=f"{name}@c.us", e164=e164, is_group=group)
                    .returning(CHATS.c.id)
                )
            ).scalar_one()
            await connection.execute(
                insert(LINKS).values(
                    chat_id=chat_id,
                    account_id=account,
                    company_id=company,
                    chat_key=f"{name}@c.us",
                    state=state,
                    person_id=person,
                    person_name=f"Person {name}",
                    rule=rule,
                )
            )
            ids[name] = chat_id
    yield SqlMatchedLinks(engine), a.id, b.id, ids
    await engine.dispose()


async def test_only_the_companys_links_matching_made_are_read_in_pages(
    seeded: tuple[SqlMatchedLinks, int, int, dict[str, int]],
) -> None:
    links, company_a, company_b, ids = seeded
    found = await links.matched_links(company_a, after=0, limit=100)
    assert found == [
        MatchedLink(ids["exact"], "+4917655501234", 7, "Person exact", "index_exact", "+4915112345678"),
        MatchedLink(ids["fuzzy"], "+4917655501235", 8, "Person fuzzy", "index_fuzzy", "+4915112345678"),
        MatchedLink(ids["search"], "+4917655501236", 9, "Person search", "search_fuzzy", "+4915112345678"),
        MatchedLink(
            ids["variant"], "+5511987654321", 10, "Person variant", "country_variant", "+4915112345678"
        ),
    ]
    page = await links.matched_links(company_a, after=ids["exact"], limit=2)
    assert [link.chat_id for link in page] == [ids["fuzzy"], ids["search"]]
    assert [link.chat_id for link in await links.matched_links(company_b, after=0, limit=100)] == [
        ids["other"]
    ]
    assert await links.matched_links(company_b + 1000, after=0, limit=100) == []
