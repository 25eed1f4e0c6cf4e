"""Users (v1 only): the installer and the company's users, for owner matching."""

from __future__ import annotations

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.models import CurrentUser, User


class UsersApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def me(self) -> CurrentUser:
        data, _ = await self._api.data("GET", "/api/v1/users/me")
        return CurrentUser.parse(object_of(data, "user"))

    async def all(self) -> list[User]:
        """Every user of the company, deactivated ones included (``GET /api/v1/users``, 20 tokens)."""
        data, _ = await self._api.data("GET", "/api/v1/users")
        return [User.parse(item) for item in items_of(data)]
