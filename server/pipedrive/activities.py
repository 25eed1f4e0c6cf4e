"""Activities (v2) and activity types (v1 only)."""

from __future__ import annotations

from typing import Literal

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.inputs import ActivityInput
from server.pipedrive.records import Activity, ActivityType

IconKey = Literal[
    "task", "email", "meeting", "deadline", "call", "lunch", "calendar", "downarrow", "document",
    "smartphone", "camera", "scissors", "cogs", "bubble", "uparrow", "checkbox", "signpost", "shuffle",
    "addressbook",
    "linegraph", "picture", "car", "world", "search", "clip", "sound", "brush", "key", "padlock", "pricetag",
    "suitcase", "finish", "plane", "loop", "wifi", "truck", "cart", "bulb", "bell", "presentation",
]  # fmt: skip


class ActivitiesApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def types(self) -> list[ActivityType]:
        """All activity types, inactive ones included (``GET /api/v1/activityTypes``, not paginated)."""
        data, _ = await self._api.data("GET", "/api/v1/activityTypes")
        return [ActivityType.parse(item) for item in items_of(data)]

    async def create_type(self, name: str, icon_key: IconKey, color: str | None = None) -> ActivityType:
        """Needs the ``admin`` scope. Pipedrive derives ``key_string`` from the name: use the result's."""
        body: dict[str, str] = {"name": name, "icon_key": icon_key}
        if color is not None:
            body["color"] = color.removeprefix("#")
        data, _ = await self._api.data("POST", "/api/v1/activityTypes", json=body)
        return ActivityType.parse(object_of(data, "activity type"))

    async def create(self, activity: ActivityInput) -> Activity:
        """``POST /api/v2/activities``; link people with ``participants``, never ``person_id``."""
        data, _ = await self._api.data("POST", "/api/v2/activities", json=_checked(activity))
        return Activity.parse(object_of(data, "activity"))

    async def get(self, activity_id: int) -> Activity:
        data, _ = await self._api.data("GET", f"/api/v2/activities/{activity_id}")
        return Activity.parse(object_of(data, "activity"))

    async def update(self, activity_id: int, changes: ActivityInput) -> Activity:
        """``PATCH``: a new ``note`` replaces the whole note."""
        data, _ = await self._api.data("PATCH", f"/api/v2/activities/{activity_id}", json=_checked(changes))
        return Activity.parse(object_of(data, "activity"))


def _checked(activity: ActivityInput) -> dict[str, object]:
    body = dict(activity)
    if "person_id" in body:
        raise ValueError("person_id is read-only on v2 activities; use participants=[{person_id, primary}]")
    return body
