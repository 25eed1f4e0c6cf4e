"""Files (v1 only): upload to a person, deal, activity or lead; download bytes; delete."""

from __future__ import annotations

from server.pipedrive.api import PipedriveApi, object_of
from server.pipedrive.errors import response_json
from server.pipedrive.records import StoredFile


class FilesApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def upload(
        self,
        content: bytes,
        *,
        filename: str,
        mime_type: str = "application/octet-stream",
        person_id: int | None = None,
        deal_id: int | None = None,
        activity_id: int | None = None,
        lead_id: str | None = None,
    ) -> StoredFile:
        """``POST /api/v1/files`` as multipart with the part named ``file`` (any other name is ignored)."""
        links = {"person_id": person_id, "deal_id": deal_id, "activity_id": activity_id, "lead_id": lead_id}
        form = {key: str(value) for key, value in links.items() if value is not None}
        if not form:
            raise ValueError("a file must be attached to a person, deal, activity or lead")
        response = await self._api.send(
            "POST", "/api/v1/files", data=form, files={"file": (filename, content, mime_type)}
        )
        body = response_json(response) or {}
        return StoredFile.parse(object_of(body.get("data"), "file"))

    async def get(self, file_id: int) -> StoredFile:
        """``GET /api/v1/files/{id}``: the file's name, size and the Person and Deal it is on."""
        response = await self._api.send("GET", f"/api/v1/files/{file_id}")
        body = response_json(response) or {}
        return StoredFile.parse(object_of(body.get("data"), "file"))

    async def download(self, file_id: int) -> bytes:
        """The file's bytes (``GET /api/v1/files/{id}/download``; redirects are followed)."""
        response = await self._api.send("GET", f"/api/v1/files/{file_id}/download", follow_redirects=True)
        return response.content

    async def delete(self, file_id: int) -> None:
        """``DELETE /api/v1/files/{id}``: Pipedrive marks the file deleted and answers ``{"id": …}``; a file
        already gone answers 404 (``NotFound``)."""
        await self._api.send("DELETE", f"/api/v1/files/{file_id}")
