"""``SqlTemplateStore``: a company's message templates and each user's own, every query scoped by company.

A user sees the company's templates and their own, never another user's; a name taken in the same scope
is refused (``template_name_taken``); a template not visible to the user is ``NotFound``
(``template_not_found``), whether it does not exist, belongs to another company or to another user.
Who may change a company template (an admin) is decided by the caller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.errors import InvalidInput, NotFound
from server.domain.message_templates import (
    MessageTemplate,
    TemplateAttachment,
    TemplateDraft,
    TemplateScope,
)
from server.domain.text import Text
from server.storage.tables import table_of, utcnow
from server.storage.tables_templates import MessageTemplateRow

_table = table_of(MessageTemplateRow)
COMPANY_OWNER = 0
TEMPLATE_NOT_FOUND = Text("That template does not exist any more, or it is not yours")


def _template(row: Any) -> MessageTemplate:
    owner = int(row["owner_user_id"])
    file_id = row["file_id"]
    return MessageTemplate(
        id=int(row["id"]),
        scope=TemplateScope.company if owner == COMPANY_OWNER else TemplateScope.personal,
        owner_user_id=owner,
        name=row["name"],
        text=row["text"],
        attachment=TemplateAttachment(int(file_id), row["file_name"]) if file_id is not None else None,
        created_by=int(row["created_by"]),
        updated_at=row["updated_at"],
    )


def _name_taken(name: str) -> InvalidInput:
    return InvalidInput(
        Text("There is already a template called “%(name)s” here; choose another name", name=name),
        reason="template_name_taken",
    )


class SqlTemplateStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _visible(self, company_id: int, user_id: int) -> Any:
        return and_(
            _table.c.company_id == company_id,
            or_(_table.c.owner_user_id == COMPANY_OWNER, _table.c.owner_user_id == user_id),
        )

    async def visible(self, company_id: int, user_id: int) -> list[MessageTemplate]:
        """The company's templates, then the user's own, each by name."""
        query = select(_table).where(self._visible(company_id, user_id))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        found = [_template(row) for row in rows]
        return sorted(found, key=lambda t: (t.scope is not TemplateScope.company, t.name.casefold(), t.id))

    async def get(self, company_id: int, user_id: int, template_id: int) -> MessageTemplate:
        query = select(_table).where(self._visible(company_id, user_id), _table.c.id == template_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            raise NotFound(TEMPLATE_NOT_FOUND, reason="template_not_found")
        return _template(row)

    async def create(
        self, company_id: int, user_id: int, draft: TemplateDraft, attachment: TemplateAttachment | None
    ) -> MessageTemplate:
        owner = COMPANY_OWNER if draft.scope is TemplateScope.company else user_id
        values = {
            "company_id": company_id,
            "owner_user_id": owner,
            "name": draft.name,
            "text": draft.text,
            "file_id": attachment.file_id if attachment else None,
            "file_name": attachment.name if attachment else "",
            "created_by": user_id,
            "updated_at": utcnow(),
        }
        try:
            async with self._engine.begin() as connection:
                result = await connection.execute(_table.insert().values(**values))
        except IntegrityError as error:
            raise _name_taken(draft.name) from error
        key = result.inserted_primary_key
        assert key is not None
        return await self.get(company_id, user_id, int(key[0]))

    async def update(
        self,
        company_id: int,
        user_id: int,
        template_id: int,
        draft: TemplateDraft,
        attachment: TemplateAttachment | None,
    ) -> MessageTemplate:
        """The name, text and attachment changed; the scope stays what it was."""
        await self.get(company_id, user_id, template_id)
        values = {
            "name": draft.name,
            "text": draft.text,
            "file_id": attachment.file_id if attachment else None,
            "file_name": attachment.name if attachment else "",
            "updated_at": utcnow(),
        }
        query = update(_table).where(self._visible(company_id, user_id), _table.c.id == template_id)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(query.values(**values))
        except IntegrityError as error:
            raise _name_taken(draft.name) from error
        return await self.get(company_id, user_id, template_id)

    async def delete(self, company_id: int, user_id: int, template_id: int) -> MessageTemplate:
        found = await self.get(company_id, user_id, template_id)
        query = delete(_table).where(self._visible(company_id, user_id), _table.c.id == template_id)
        async with self._engine.begin() as connection:
            await connection.execute(query)
        return found
