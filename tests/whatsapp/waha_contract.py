"""Validate WAHA requests and answers against WAHA's own OpenAPI 3.1 document (openapi-core).

The vendored ``vendor/openapi/waha/openapi.json`` is read once and kept unchanged on disk. In memory it
is read the way its authors wrote it (NestJS's Swagger generator, in OpenAPI 3.0 idioms):

- ``nullable: true`` (a 3.0 keyword JSON Schema 2020-12 ignores) allows ``null``;
- ``required: true`` inside a property (not a list of names) is dropped, as JSON Schema has no such form;
- a property whose ``example`` is ``null`` allows ``null`` (the document shows it as a value: ``WAMedia``'s
  ``error`` is null when the download worked);
- ``type: object`` on a property whose ``default`` is a string (the generator's type for an undecorated
  property, e.g. a voice file's ``mimetype`` defaulting to ``"audio/ogg; codecs=opus"``) is ``string``.

``CORRECTIONS`` and ``DOCUMENT_GAPS`` list the few places where the document contradicts itself or what
WAHA sends, each with the reason; every other difference is a failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.conftest import VENDORED_OPENAPI

DOCUMENT = VENDORED_OPENAPI / "waha" / "openapi.json"
SPEC_HOST = "http://localhost:3000"  # the document's one server, with its default variables

# Gateway media links: WAHA hands them out in ``WAMedia.url`` (its example is
# ``http://localhost:3000/api/files/false_…oga``); the document describes them as values, not operations.
FILE_LINKS = re.compile(r"/api/files/.+")

# Properties whose schema the document's own example contradicts: (schema, property) -> (schema, reason).
CORRECTIONS: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
    ("WebhookConfig", "events"): (
        {"type": "array", "items": {"type": "string"}},
        "event names are strings, as in the document's example ['message', 'session.status']",
    ),
}

# WAMessage lists every field as required, yet describes some as conditional: ``source`` is "available
# in events only and only fromMe: true messages", ``participant`` is "for groups", ``mediaUrl`` is
# deprecated for ``media.url``. WAHA leaves them out or sends null where they do not apply, and sends null
# for an absent ``to``, ``media`` and ``replyTo``. Everything else in a message stays as documented.
DOCUMENT_GAPS: dict[str, dict[str, str]] = {
    "WAMessage": {
        "source": "present only on the gateway's own events about fromMe messages",
        "participant": "set in groups only; null in 1:1 chats",
        "to": "null when the engine does not know the recipient (GOWS, 1:1 chats)",
        "mediaUrl": "deprecated; media.url carries the link",
        "media": "null when the message has no media or it was not downloaded",
        "replyTo": "null when the message quotes nothing",
    },
    "WAHAEnvironment": {
        "browser": "null on the engines that run no browser (GOWS, NOWEB)",
    },
    "LidToPhoneNumber": {
        "lid": "null when no LID is known for the phone number (WAHA's contacts guide)",
        "pn": "null when the LID's phone number is unknown (WAHA's contacts guide)",
    },
}


class Undocumented(AssertionError):
    """A request to a method and path the document does not describe."""


class InvalidMediaType(AssertionError):
    """An answer whose media type the operation does not document for its status."""


@dataclass(frozen=True)
class Operation:
    method: str  # lower case, as in the document
    template: str  # e.g. /api/{session}/chats/{chatId}/messages
    operation_id: str


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], None]}
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**schema, "type": [*kind, "null"]} if "null" not in kind else schema
    return {"anyOf": [{"type": "null"}, schema]}


def _as_written(node: Any) -> Any:
    """The document with its 3.0 idioms read as JSON Schema 2020-12 (see the module docstring)."""
    if isinstance(node, list):
        return [_as_written(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _as_written(value) for key, value in node.items()}
    if "required" in out and not isinstance(out["required"], list):
        del out["required"]
    if out.get("type") == "object" and isinstance(out.get("default"), str):
        out["type"] = "string"
    nullable = out.pop("nullable", False) is True or ("example" in out and out["example"] is None)
    if nullable:
        out = _allow_null(out)
    return out


def _with_gaps(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    for (name, field), (corrected, _) in CORRECTIONS.items():
        schemas[name]["properties"][field] = corrected
    for name, fields in DOCUMENT_GAPS.items():
        schema = schemas[name]
        schema["required"] = [field for field in schema.get("required", []) if field not in fields]
        for field in fields:
            schema["properties"][field] = _allow_null(schema["properties"][field])
    return spec


@cache
def raw_document() -> dict[str, Any]:
    """The vendored document exactly as published."""
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_bytes())
    return loaded


@cache
def contract() -> WahaContract:
    """The one checker per process (the document is parsed once)."""
    return WahaContract(_with_gaps(_as_written(raw_document())))


def _segment_pattern(template: str) -> re.Pattern[str]:
    parts = [
        "[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part)
        for part in template.split("/")
    ]
    return re.compile("/".join(parts))


class _Request:
    """An ``httpx.Request`` seen as openapi-core's ``Request`` protocol, re-homed on the spec's server."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = SPEC_HOST
        self.path = request.url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
        )
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "application/octet-stream")


class WahaContract:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
        self.operations: list[tuple[re.Pattern[str], int, Operation]] = []
        for template, item in spec["paths"].items():
            literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    found = Operation(method, template, operation.get("operationId", ""))
                    self.operations.append((_segment_pattern(template), literal, found))

    def operation(self, method: str, path: str) -> Operation:
        """The documented operation for ``method path``, the most literal template winning
        (``/api/sessions/{session}/me`` over ``/api/{session}/…``); ``Undocumented`` when none."""
        method = method.lower()
        matches = [
            (literal, found)
            for pattern, literal, found in self.operations
            if found.method == method and pattern.fullmatch(path)
        ]
        if not matches:
            raise Undocumented(f"{method.upper()} {path} is not an operation of WAHA's document")
        return max(matches, key=lambda match: match[0])[1]

    def validate_request(self, request: httpx.Request) -> Operation:
        """Raise openapi-core's validation error when ``request`` breaks its operation's schema."""
        found = self.operation(request.method, request.url.path)
        self.api.validate_request(_Request(request))
        return found

    def documented_statuses(self, found: Operation) -> set[int]:
        responses: Mapping[str, Any] = self.spec["paths"][found.template][found.method]["responses"]
        return {int(status) for status in responses if status.isdigit()}

    def validate_response(self, response: httpx.Response, body: Any | None = None) -> Operation:
        """Raise when ``response`` (or ``body`` in its place) breaks the documented answer: a status the
        operation does not document, or a body against its schema. A body that is not JSON (the QR code's
        PNG) must be of a documented media type; its bytes are not checked."""
        request = response.request
        found = self.operation(request.method, request.url.path)
        media_type = response.headers.get("content-type", "application/json").split(";")[0].strip()
        if media_type != "application/json":
            documented = self.spec["paths"][found.template][found.method]["responses"]
            content = documented.get(str(response.status_code), {}).get("content", {})
            if media_type not in content:
                raise InvalidMediaType(
                    f"{found.operation_id} answers no {media_type} with {response.status_code}"
                )
            return found
        payload = json.dumps(body).encode() if body is not None else response.content
        mock_request = MockRequest(
            SPEC_HOST,
            request.method.lower(),
            request.url.path,
            args=dict(request.url.params),
            headers=dict(request.headers),
        )
        mock_response = MockResponse(
            payload,
            status_code=response.status_code,
            content_type=media_type,
        )
        self.api.validate_response(mock_request, mock_response)
        return found
