"""Person and deal fields (v2): find or create our custom fields (keys differ per company)."""

from __future__ import annotations

from typing import Any, Literal

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.models import Page
from server.pipedrive.pagination import cursor_page, iterate_cursor
from server.pipedrive.records import FieldDefinition

Entity = Literal["person", "deal"]
FieldType = Literal["varchar", "text", "double", "phone", "date", "set", "enum", "varchar_auto", "address"]
_PATHS: dict[Entity, str] = {"person": "/api/v2/personFields", "deal": "/api/v2/dealFields"}


class FieldsApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def all(self, entity: Entity) -> list[FieldDefinition]:
        async def fetch(cursor: str | None) -> Page[FieldDefinition]:
            data, more = await self._api.data("GET", _PATHS[entity], params={"cursor": cursor, "limit": 500})
            return cursor_page([FieldDefinition.parse(item) for item in items_of(data)], more)

        return [definition async for definition in iterate_cursor(fetch)]

    async def create(
        self,
        entity: Entity,
        name: str,
        field_type: FieldType = "varchar",
        *,
        visible_in_add_form: bool = False,
    ) -> FieldDefinition:
        """Needs ``contact-fields:full``, ``deal-fields:full`` or ``admin``; ``code`` is the new key."""
        body: dict[str, Any] = {
            "field_name": name,
            "field_type": field_type,
            "ui_visibility": {"add_visible_flag": visible_in_add_form},
        }
        data, _ = await self._api.data("POST", _PATHS[entity], json=body)
        return FieldDefinition.parse(object_of(data, "field"))


async def field_key(fields: FieldsApi, entity: Entity, name: str) -> str | None:
    """The key of ``entity``'s field called ``name`` (case and outer spaces aside), a custom field before a
    standard one of the same name; ``None`` when there is none."""
    wanted = name.strip().casefold()
    found = sorted(
        (f for f in await fields.all(entity) if f.name.strip().casefold() == wanted and f.code),
        key=lambda f: (not f.is_custom, f.code),
    )
    return found[0].code if found else None


async def ensure_field(fields: FieldsApi, entity: Entity, name: str, field_type: FieldType) -> str:
    """The key of ``entity``'s field called ``name``: found by name, else created (so one stays)."""
    found = await field_key(fields, entity, name)
    if found is not None:
        return found
    return (await fields.create(entity, name, field_type)).code
