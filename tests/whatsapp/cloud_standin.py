"""A small WhatsApp Cloud API for ``httpx.MockTransport``.

It checks the bearer token, keeps uploaded media, hands out download URLs on lookaside that expire after
five minutes of its clock, and refuses free-form messages to users whose last message is older than 24
hours (error 131047), as the Graph API does. Template messages go out whatever the window, when the
template exists in that language and is APPROVED (else 132001) and carries one body parameter per variable
(else 132000, named ones by name). ``templates`` is the WhatsApp Business Account's list, served paged
(``templates_page_size`` a page, cursors as the Graph API gives them) with every status.
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
BUSINESS_ACCOUNT_ID = "102290129340398"
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def template(
    name: str,
    body: str,
    *,
    language: str = "en_US",
    status: str = "APPROVED",
    category: str = "UTILITY",
    named: bool = False,
    header: str | None = None,
    footer: str | None = None,
    buttons: tuple[str, ...] = (),
) -> dict[str, object]:
    """A template as ``GET /{WABA-ID}/message_templates`` lists it."""
    components: list[dict[str, object]] = []
    if header is not None:
        components.append({"type": "HEADER", "format": "TEXT", "text": header})
    components.append({"type": "BODY", "text": body})
    if footer is not None:
        components.append({"type": "FOOTER", "text": footer})
    if buttons:
        components.append(
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": text} for text in buttons]}
        )
    return {
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "parameter_format": "NAMED" if named else "POSITIONAL",
        "components": components,
        "id": str(abs(hash((name, language))) % 10**15),
    }


def default_templates() -> list[dict[str, object]]:
    return [
        template("order_update", "Hello {{1}}, your order {{2}} is on its way.", footer="Acme"),
        template(
            "appointment_reminder",
            "Hi {{first_name}}, see you on {{day}}.",
            named=True,
            buttons=("Confirm", "Reschedule"),
        ),
        template("welcome_back", "Welcome back! Reply to continue.", category="MARKETING"),
        template("order_update", "Hallo {{1}}, Ihre Bestellung {{2}} ist unterwegs.", language="de"),
        template("follow_up", "Hallo {{1}}, haben Sie noch Fragen?", language="de"),
        template("spring_sale", "Hi {{1}}, spring sale!", status="PENDING", category="MARKETING"),
        template("bad_idea", "Buy now {{1}}", status="REJECTED", category="MARKETING"),
    ]


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
    templates: list[dict[str, object]] = field(default_factory=default_templates)
    templates_page_size: int = 2
    fail_templates_with: int | None = None  # the next templates list answers with this HTTP status

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
        if request.method == "GET" and path == f"{BUSINESS_ACCOUNT_ID}/message_templates":
            return self._templates(request)
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
        if body["type"] == "template":
            refusal = self._check_template(body["template"])
            if refusal is not None:
                return refusal
        elif opened is None or self.now - opened > WINDOW:
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

    def _templates(self, request: httpx.Request) -> httpx.Response:
        if self.fail_templates_with is not None:
            status, self.fail_templates_with = self.fail_templates_with, None
            return _error(status, 2 if status >= 500 else 100, "Service temporarily unavailable")
        fields = request.url.params.get("fields", "").split(",")
        limit = int(request.url.params.get("limit") or self.templates_page_size)
        size = min(limit, self.templates_page_size)
        after = request.url.params.get("after")
        start = int(after.removeprefix("cursor-")) if after else 0
        page = self.templates[start : start + size]
        data = [{key: value for key, value in t.items() if key in fields or key == "id"} for t in page]
        answer: dict[str, object] = {"data": data}
        if page:
            paging: dict[str, object] = {
                "cursors": {"before": f"cursor-{start}", "after": f"cursor-{start + len(page)}"}
            }
            if start + len(page) < len(self.templates):
                paging["next"] = (
                    f"{GRAPH}/{BUSINESS_ACCOUNT_ID}/message_templates?after=cursor-{start + size}"
                )
            answer["paging"] = paging
        return httpx.Response(200, json=answer)

    def _check_template(self, sent: dict[str, object]) -> httpx.Response | None:
        language = sent.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        listed = next(
            (
                t
                for t in self.templates
                if t["name"] == sent.get("name") and t["language"] == code and t["status"] == "APPROVED"
            ),
            None,
        )
        if listed is None:
            return _error(
                400,
                132001,
                "(#132001) Template name does not exist in the translation",
                details=f"template name ({sent.get('name')}) does not exist in {code}",
            )
        components = listed["components"]
        assert isinstance(components, list)
        body = next(c["text"] for c in components if c["type"] == "BODY")
        expected = list(dict.fromkeys(_VARIABLE.findall(body)))
        parameters: list[dict[str, object]] = []
        for component in sent.get("components") or []:
            assert isinstance(component, dict)
            if component.get("type") == "body":
                parameters = list(component.get("parameters") or [])
        mismatch = len(parameters) != len(expected) or any(not p.get("text") for p in parameters)
        if listed["parameter_format"] == "NAMED":
            mismatch = mismatch or sorted(str(p.get("parameter_name")) for p in parameters) != sorted(
                expected
            )
        if mismatch:
            return _error(
                400,
                132000,
                "(#132000) Number of parameters does not match the expected number of params",
                details=f"body: number of localizable_params ({len(parameters)}) does not match the "
                f"expected number of params ({len(expected)})",
            )
        return None

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
