"""A small WhatsApp Cloud API for ``httpx.MockTransport``.

It checks the bearer token, keeps uploaded media, hands out download URLs on lookaside that expire after
five minutes of its clock, and refuses free-form messages to users whose last message is older than 24
hours (error 131047), as the Graph API does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP

import httpx

TOKEN = "test-cloud-token"
PHONE_NUMBER_ID = "106540352242922"
GRAPH = "https://graph.facebook.com/v25.0"
URL_LIFETIME = timedelta(minutes=5)
WINDOW = timedelta(hours=24)


def cloud_signature(raw: bytes, app_secret: str) -> str:
    """What Meta puts in ``X-Hub-Signature-256``: the hex HMAC-SHA256 of the raw body, keyed with the app
    secret."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass
class StoredMedia:
    data: bytes
    mime: str
    filename: str | None


@dataclass
class CloudStandIn:
    now: datetime
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    issued_urls: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    sent: list[dict[str, object]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_next_send_with: int | None = None
    expired_urls_to_issue: int = 0  # the next N download URLs are already past their 5 minutes
    wrong_checksums: bool = False  # report a sha256 the served bytes do not have
    media_url_base: str = "https://lookaside.fbsbx.com"  # where the download URLs it hands out point

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, 190, "Invalid OAuth access token.")
        if request.url.host == "lookaside.fbsbx.com":
            return self._download(request)
        path = request.url.path.removeprefix("/v25.0/")
        if request.method == "GET" and path == PHONE_NUMBER_ID:
            return httpx.Response(
                200, json={"display_phone_number": "+49 30 1234567", "verified_name": "Acme", "id": path}
            )
        if request.method == "POST" and path == f"{PHONE_NUMBER_ID}/messages":
            return self._send(request)
        if request.method == "POST" and path == f"{PHONE_NUMBER_ID}/media":
            return self._upload(request)
        if request.method == "GET" and path in self.media:
            return self._media_url(path)
        return _error(404, 100, "Unsupported get request. Object does not exist", subcode=33)

    def _send(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if self.fail_next_send_with is not None:
            status, self.fail_next_send_with = self.fail_next_send_with, None
            return _error(status, 131000, "Something went wrong")
        to = body["to"]
        opened = self.last_inbound.get(to)
        if body["type"] != "template" and (opened is None or self.now - opened > WINDOW):
            return _error(
                400,
                131047,
                "Re-engagement message",
                details="Message failed to send because more than 24 hours have passed "
                "since the customer last replied.",
            )
        media = body.get(body["type"]) if body["type"] in ("image", "video", "audio", "document") else None
        if isinstance(media, dict) and "id" in media and media["id"] not in self.media:
            return _error(400, 131053, "Media upload error")
        self.sent.append(body)
        wamid = f"wamid.HBgL{len(self.sent):04d}"
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            },
        )

    def _upload(self, request: httpx.Request) -> httpx.Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return _error(400, 100, "Upload must be multipart")
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.content
        )
        fields: dict[str, str] = {}
        upload: StoredMedia | None = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if name == "file" and isinstance(payload, bytes):
                upload = StoredMedia(payload, part.get_content_type(), part.get_filename())
            elif isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload.decode()
        if upload is None or fields.get("messaging_product") != "whatsapp" or "type" not in fields:
            return _error(400, 100, "Missing file, type or messaging_product")
        media_id = str(900_000_000 + len(self.media))
        self.media[media_id] = upload
        return httpx.Response(200, json={"id": media_id})

    def add_inbound_media(self, data: bytes, mime: str) -> str:
        media_id = str(800_000_000 + len(self.media))
        self.media[media_id] = StoredMedia(data, mime, None)
        return media_id

    def _media_url(self, media_id: str) -> httpx.Response:
        stored = self.media[media_id]
        token = f"t{len(self.issued_urls)}"
        issued_at = self.now
        if self.expired_urls_to_issue:
            self.expired_urls_to_issue -= 1
            issued_at -= URL_LIFETIME * 2
        self.issued_urls[token] = (media_id, issued_at)
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "url": f"{self.media_url_base}/whatsapp_business/attachments/?mid={media_id}&ext={token}",
                "mime_type": stored.mime,
                "sha256": "0" * 64 if self.wrong_checksums else hashlib.sha256(stored.data).hexdigest(),
                "file_size": len(stored.data),
                "id": media_id,
            },
        )

    def _download(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("ext", "")
        issued = self.issued_urls.get(token)
        if issued is None or self.now - issued[1] > URL_LIFETIME:
            return httpx.Response(404, text="URL signature expired")
        return httpx.Response(200, content=self.media[issued[0]].data)


def _error(
    status: int, code: int, message: str, *, details: str | None = None, subcode: int | None = None
) -> httpx.Response:
    error: dict[str, object] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbC123",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


def wamid_number(wamid: str) -> int:
    match = re.fullmatch(r"wamid\.HBgL(\d+)", wamid)
    assert match is not None
    return int(match.group(1))
