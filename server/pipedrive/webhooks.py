"""App webhooks (v1 only; need the ``admin`` scope; at most 40 per app per user)."""

from __future__ import annotations

from typing import Any, Literal

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.records import Webhook

EventAction = Literal["create", "change", "delete", "*"]
EventObject = Literal[
    "activity", "deal", "lead", "note", "organization", "person", "pipeline", "product", "stage", "user", "*"
]


class WebhooksApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def create(
        self,
        subscription_url: str,
        *,
        event_action: EventAction,
        event_object: EventObject,
        name: str,
        http_auth: tuple[str, str] | None = None,
        user_id: int | None = None,
    ) -> Webhook:
        """Register a webhook with the payload version pinned to ``2.0``."""
        body: dict[str, Any] = {
            "subscription_url": subscription_url,
            "event_action": event_action,
            "event_object": event_object,
            "name": name,
            "version": "2.0",
        }
        if http_auth is not None:
            body["http_auth_user"], body["http_auth_password"] = http_auth
        if user_id is not None:
            body["user_id"] = user_id
        data, _ = await self._api.data("POST", "/api/v1/webhooks", json=body)
        return Webhook.parse(object_of(data, "webhook"))

    async def all(self) -> list[Webhook]:
        data, _ = await self._api.data("GET", "/api/v1/webhooks")
        return [Webhook.parse(item) for item in items_of(data)]

    async def delete(self, webhook_id: int) -> None:
        await self._api.send("DELETE", f"/api/v1/webhooks/{webhook_id}")
