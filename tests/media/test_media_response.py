"""The streamed attachment response tells the type from the file's first bytes however the store cuts the
stream, and sends every byte after them: a GIF is shown in place only when its header, its colour table (up
to 768 bytes) and the block after it are all there, so the bytes looked at must reach past them even when
the store hands them over a few at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.responses import StreamingResponse

from server.domain.ports.storage import StoredFile
from server.web.media_response import media_response

# A GIF with the largest global colour table (256 colours), then an image descriptor: shown in place.
GIF = (
    b"GIF89a\x01\x00\x01\x00\xf7\x00\x00"
    + b"\x00" * 768
    + b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def body(response: StreamingResponse) -> bytes:
    return b"".join([chunk async for chunk in response.body_iterator])


@pytest.mark.parametrize("piece", [1, 7, 100, 4096])
@pytest.mark.parametrize(("data", "kind"), [(GIF, "image/gif"), (PNG, "image/png")])
async def test_the_type_is_told_from_the_first_bytes_however_they_come(
    data: bytes, kind: str, piece: int
) -> None:
    response = await media_response(StoredFile(len(data), pieces(data, piece)), kind, "file")
    assert response.media_type == kind
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["content-length"] == str(len(data))
    assert await body(response) == data


async def test_a_file_of_unknown_length_is_sent_without_one() -> None:
    response = await media_response(StoredFile(None, pieces(PNG, 5)), "image/png", "photo.png")
    assert "content-length" not in response.headers
    assert await body(response) == PNG


async def test_an_empty_file_is_a_download() -> None:
    response = await media_response(StoredFile(0, pieces(b"", 1)), "image/png", "empty.png")
    assert response.media_type == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert await body(response) == b""
