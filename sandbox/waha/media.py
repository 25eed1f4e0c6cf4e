"""Downloaded media as WAHA serves it under `/api/files/`: deleted after a lifetime on the sandbox clock."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from sandbox.waha.clock import Clock, Scheduler
from sandbox.waha.models import Media

EXTENSIONS = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/ogg": "oga",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "application/pdf": "pdf",
}
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
VOICE_NOTE = b"OggS\x00\x02" + bytes(20) + b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00" + bytes(64)


def extension(mimetype: str) -> str:
    base = mimetype.split(";", 1)[0].strip().lower()
    if base in EXTENSIONS:
        return EXTENSIONS[base]
    guessed = mimetypes.guess_extension(base)
    return guessed.lstrip(".") if guessed else "bin"


@dataclass
class StoredFile:
    media: Media
    expires_ms: int | None


@dataclass(frozen=True)
class Download:
    """One request for a file under `/api/files/`: which, when (sandbox clock, ms) and what it answered."""

    name: str
    at_ms: int
    status: int


class MediaStore:
    """Files by name; `lifetime_seconds` 0 keeps them forever (WAHA's `WHATSAPP_FILES_LIFETIME`)."""

    def __init__(self, clock: Clock, scheduler: Scheduler, lifetime_seconds: float = 180.0) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.lifetime_seconds = lifetime_seconds
        self.files: dict[str, StoredFile] = {}
        self.downloads: list[Download] = []

    def record(self, name: str, status: int) -> None:
        self.downloads.append(Download(name, self.clock.now_ms(), status))

    def publish(self, media: Media) -> None:
        expires = None
        if self.lifetime_seconds > 0:
            expires = self.clock.now_ms() + round(self.lifetime_seconds * 1000)
            self.scheduler.at(expires, lambda: self._expire(media.name, expires), f"delete file {media.name}")
        self.files[media.name] = StoredFile(media, expires)

    def get(self, name: str) -> Media | None:
        stored = self.files.get(name)
        if stored is None:
            return None
        if stored.expires_ms is not None and self.clock.now_ms() >= stored.expires_ms:
            del self.files[name]
            return None
        return stored.media

    def expire_all(self) -> None:
        self.files.clear()

    def _expire(self, name: str, expires: int | None) -> None:
        stored = self.files.get(name)
        if stored is not None and stored.expires_ms == expires:
            del self.files[name]
