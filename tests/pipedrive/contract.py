"""Validate requests our client sends against Pipedrive's official OpenAPI documents (openapi-core)."""

from __future__ import annotations

import re
import warnings
from typing import Any

import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.util import data_form_loads
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.conftest import OPENAPI_DIR

SPEC_DIR = OPENAPI_DIR
SPEC_HOST = "https://api.pipedrive.com"


def load_openapi(filename: str) -> OpenAPI:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (SPEC_DIR / filename).open("rb") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506  (a safe loader)
    config = Config(
        # The published files are trusted data; skipping meta-validation keeps loading under a second.
        spec_validator_cls=None,
        extra_media_type_deserializers={"multipart/form-data": MultipartParts(spec)},
    )
    return OpenAPI.from_dict(spec, config=config)


class MultipartParts:
    """Multipart bodies with text parts read as their schema's primitive type.

    On the wire every multipart part is text (OpenAPI 3.0 serialises an ``integer`` part as ``text/plain``),
    but openapi-core 0.23 validates the raw string, so ``person_id=42`` would fail ``type: integer``.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.types: dict[str, str] = {}
        for operations in spec["paths"].values():
            for operation in operations.values():
                content = (
                    (operation.get("requestBody") or {}).get("content", {})
                    if isinstance(operation, dict)
                    else {}
                )
                schema = content.get("multipart/form-data", {}).get("schema", {})
                for name, prop in schema.get("properties", {}).items():
                    self.types.setdefault(name, prop.get("type", "string"))

    def __call__(self, value: bytes, **parameters: str) -> ImmutableMultiDict[str, Any]:
        parts = data_form_loads(value, **parameters)
        return ImmutableMultiDict([(name, self._typed(name, part)) for name, part in parts.items(multi=True)])

    def _typed(self, name: str, part: bytes) -> Any:
        kind = self.types.get(name)
        text = part.decode("utf-8", errors="replace")
        if kind == "integer" and re.fullmatch(r"-?\d+", text):
            return int(text)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", text):
            return float(text)
        if kind == "boolean" and text in ("true", "false"):
            return text == "true"
        return part


class OpenAPIRequest:
    """An ``httpx.Request`` seen as openapi-core's ``Request`` protocol, re-homed on the spec's server."""

    def __init__(self, request: httpx.Request) -> None:
        path = request.url.path
        if path.startswith("/oauth/"):
            self.host_url = "https://oauth.pipedrive.com"
            self.path = path.rstrip("/")
        elif path.startswith("/api/v1/"):
            self.host_url, self.path = SPEC_HOST, path.removeprefix("/api")
        else:
            self.host_url, self.path = SPEC_HOST, path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
        )
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "application/octet-stream")


class ContractChecker:
    def __init__(self) -> None:
        self.v1 = load_openapi("v1.yaml")
        self.v2 = load_openapi("v2.yaml")

    def validate(self, request: httpx.Request) -> None:
        """Raise openapi-core's validation error when ``request`` breaks its operation's schema."""
        spec = self.v2 if request.url.path.startswith("/api/v2/") else self.v1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Unsupported scheme type" for oauth2
            spec.validate_request(OpenAPIRequest(request))
