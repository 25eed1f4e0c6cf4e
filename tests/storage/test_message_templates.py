"""The template store on SQLite and PostgreSQL: scopes, names unique per scope, and company walls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import InvalidInput, NotFound
from server.domain.message_templates import TemplateAttachment, TemplateDraft, TemplateScope
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.message_templates import SqlTemplateStore

ANNA, BEN = 11, 12


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def companies(engine: AsyncEngine) -> tuple[int, int]:
    store = SqlCompanyStore(engine)
    first = await store.upsert(501, name="One", api_domain="", timezone="UTC")
    second = await store.upsert(502, name="Two", api_domain="", timezone="UTC")
    return first.id, second.id


def draft(scope: TemplateScope, name: str, text: str = "Hi {{person.first_name|there}}") -> TemplateDraft:
    return TemplateDraft(scope, name, text)


async def test_a_user_sees_the_company_templates_and_their_own_only(engine: AsyncEngine) -> None:
    one, two = await companies(engine)
    store = SqlTemplateStore(engine)
    await store.create(one, ANNA, draft(TemplateScope.company, "welcome"), None)
    await store.create(one, ANNA, draft(TemplateScope.personal, "Anna's"), None)
    await store.create(one, BEN, draft(TemplateScope.personal, "Ben's"), None)
    await store.create(two, ANNA, draft(TemplateScope.company, "other company"), None)

    seen_by_ben = await store.visible(one, BEN)
    assert [(t.name, t.scope, t.owner_user_id) for t in seen_by_ben] == [
        ("welcome", TemplateScope.company, 0),
        ("Ben's", TemplateScope.personal, BEN),
    ]
    assert [t.name for t in await store.visible(one, ANNA)] == ["welcome", "Anna's"]
    assert [t.name for t in await store.visible(two, BEN)] == ["other company"]


async def test_names_are_unique_per_scope_not_across_scopes(engine: AsyncEngine) -> None:
    one, two = await companies(engine)
    store = SqlTemplateStore(engine)
    await store.create(one, ANNA, draft(TemplateScope.company, "follow up"), None)
    with pytest.raises(InvalidInput) as refused:
        await store.create(one, BEN, draft(TemplateScope.company, "follow up"), None)
    assert refused.value.reason == "template_name_taken"
    await store.create(one, ANNA, draft(TemplateScope.personal, "follow up"), None)  # her own scope
    await store.create(one, BEN, draft(TemplateScope.personal, "follow up"), None)
    await store.create(two, ANNA, draft(TemplateScope.company, "follow up"), None)  # another company
    assert len(await store.visible(one, ANNA)) == 2


async def test_the_attachment_and_the_author_are_kept_and_updated(engine: AsyncEngine) -> None:
    one, _ = await companies(engine)
    store = SqlTemplateStore(engine)
    made = await store.create(
        one, ANNA, draft(TemplateScope.company, "prices"), TemplateAttachment(31, "Prices.pdf")
    )
    assert (made.attachment, made.created_by) == (TemplateAttachment(31, "Prices.pdf"), ANNA)
    changed = await store.update(one, BEN, made.id, draft(TemplateScope.company, "prices 2027", "New"), None)
    assert (changed.name, changed.text, changed.attachment, changed.scope) == (
        "prices 2027",
        "New",
        None,
        TemplateScope.company,
    )
    assert changed.updated_at >= made.updated_at


async def test_another_users_or_companys_template_is_not_found(engine: AsyncEngine) -> None:
    one, two = await companies(engine)
    store = SqlTemplateStore(engine)
    annas = await store.create(one, ANNA, draft(TemplateScope.personal, "mine"), None)
    for company, user in ((one, BEN), (two, ANNA)):
        with pytest.raises(NotFound) as missing:
            await store.get(company, user, annas.id)
        assert missing.value.reason == "template_not_found"
        with pytest.raises(NotFound):
            await store.delete(company, user, annas.id)
        with pytest.raises(NotFound):
            await store.update(company, user, annas.id, draft(TemplateScope.personal, "taken over"), None)
    assert (await store.get(one, ANNA, annas.id)).name == "mine"
    await store.delete(one, ANNA, annas.id)
    assert await store.visible(one, ANNA) == []


async def test_renaming_onto_a_taken_name_is_refused(engine: AsyncEngine) -> None:
    one, _ = await companies(engine)
    store = SqlTemplateStore(engine)
    await store.create(one, ANNA, draft(TemplateScope.company, "a"), None)
    second = await store.create(one, ANNA, draft(TemplateScope.company, "b"), None)
    with pytest.raises(InvalidInput) as refused:
        await store.update(one, ANNA, second.id, draft(TemplateScope.company, "a"), None)
    assert refused.value.reason == "template_name_taken"
