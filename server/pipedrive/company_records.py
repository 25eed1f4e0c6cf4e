"""What WaPipe keeps in each company's Pipedrive: the "WhatsApp chat" activity type and the "WhatsApp chat
link" field on Person and Deal. Found before created (an inactive type is reactivated), so install set-up
and the sync engine's fallback can both call these any number of times and leave one of each."""

from __future__ import annotations

from server.domain.sync import ACTIVITY_TYPE_COLOR, ACTIVITY_TYPE_NAME, LINK_FIELD_NAME
from server.pipedrive.client import PipedriveClient
from server.pipedrive.fields import Entity, ensure_field, field_key
from server.pipedrive.records import ActivityType


def _preferred_type(matches: list[ActivityType]) -> ActivityType | None:
    """An active custom type first, then any active one, then the earliest inactive one."""
    ranked = sorted(matches, key=lambda t: (not t.active, not t.is_custom, t.id))
    return ranked[0] if ranked else None


async def find_activity_type(client: PipedriveClient, *, reactivate: bool = True) -> str | None:
    """The "WhatsApp chat" type's ``key_string`` if it exists (reactivated when someone deactivated it)."""
    wanted = ACTIVITY_TYPE_NAME.casefold()
    found = _preferred_type(
        [t for t in await client.activities.types() if t.name.strip().casefold() == wanted]
    )
    if found is None:
        return None
    if not found.active and reactivate:
        # The client has no typed call for this one-off: PUT /api/v1/activityTypes/{id} (admin scope).
        await client.api.data("PUT", f"/api/v1/activityTypes/{found.id}", json={"active_flag": True})
    return found.key_string


async def ensure_activity_type(client: PipedriveClient) -> str:
    """The "WhatsApp chat" type's ``key_string``: found (and reactivated) or created."""
    found = await find_activity_type(client)
    if found is not None:
        return found
    return (await client.activities.create_type(ACTIVITY_TYPE_NAME, "bubble", ACTIVITY_TYPE_COLOR)).key_string


async def find_link_field(client: PipedriveClient, entity: Entity) -> str | None:
    """The key of the "WhatsApp chat link" field on ``entity``, if it exists."""
    return await field_key(client.fields, entity, LINK_FIELD_NAME)


async def ensure_link_field(client: PipedriveClient, entity: Entity) -> str:
    """The key of the "WhatsApp chat link" field on ``entity``: found by name or created."""
    return await ensure_field(client.fields, entity, LINK_FIELD_NAME, "varchar")
