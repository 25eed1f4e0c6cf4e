"""Structured logs: one JSON object per line, with secrets redacted wherever they appear."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REDACTED = "[redacted]"

# Values that look like credentials even when we did not configure them (tokens from Pipedrive, headers).
_CREDENTIAL_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=:-]{8,}"),
    re.compile(
        r"(?i)((?:access|refresh)_token|client_secret|password|api[_-]?key|authorization|x-api-key)"
        r"([\"']?\s*[:=]\s*[\"']?)(?!(?:bearer|basic)\s|\[redacted\])([^\s\"'&,}]+)"
    ),
]

# Query values that let whoever holds the URL in: the panel's Pipedrive token, the installed page's ticket,
# a media link's signature, OAuth codes and states, Meta's verify token. Also percent-encoded inside another
# parameter (``next=%2Fpanel%3Ftoken%3D…``).
_BEARER_NAMES = ("token", "ticket", "s", "code", "state", "hub.verify_token")
_NAMES = "|".join(re.escape(name) for name in _BEARER_NAMES)
_BEARER_QUERY = re.compile(rf"(?i)(?<=[?&])((?:{_NAMES})=)[^&\s\"'#<>\\]+")
_BEARER_QUERY_ENCODED = re.compile(rf"(?i)((?:%3F|%26)(?:{_NAMES})%3D)(?:(?!%26)[^&\s\"'#<>\\])+")
# A signed token wherever it appears: JWTs and itsdangerous values are base64 JSON, signed, in dotted parts.
_SIGNED_TOKEN = re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}")

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class Redactor:
    """Replaces known secret values and credential-shaped substrings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _CREDENTIAL_PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        text = _CREDENTIAL_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        text = _BEARER_QUERY.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        text = _BEARER_QUERY_ENCODED.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        return _SIGNED_TOKEN.sub(REDACTED, text)


class JsonFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return self._redact(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def configure_logging(level: str, *, fmt: str = "json", secrets: Iterable[str] = ()) -> None:
    """Route every logger (ours, uvicorn's, arq's) through one redacting handler on stderr."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if fmt == "json" else TextFormatter(redact))
    _route_everything([handler], level)


def configure_demo_logging(log_file: Path, *, secrets: Iterable[str] = ()) -> None:
    """The demo's logs: all of them (text, redacted) in ``log_file``, started afresh; on the console only
    what a person watching needs: warnings and errors, and WaPipe's own events, one line each.

    The demo's HTTP calls go from one of its apps to another, so each is in the file once, as the
    answering app's access line (not again as the calling client's)."""
    redact = Redactor(secrets)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    full = logging.FileHandler(log_file, mode="w", encoding="utf-8")
    full.setFormatter(TextFormatter(redact))
    full.addFilter(_not_the_calling_client)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(TextFormatter(redact))
    console.addFilter(for_the_console)
    _route_everything([full, console], "INFO")


def for_the_console(record: logging.LogRecord) -> bool:
    """The demo's console: warnings and errors from anyone; below that, only WaPipe's own events."""
    if record.levelno >= logging.WARNING:
        return True
    return record.name == "wapipe" or record.name.startswith("server.")


def _not_the_calling_client(record: logging.LogRecord) -> bool:
    return not (record.name == "httpx" and record.levelno < logging.WARNING)


def _route_everything(handlers: list[logging.Handler], level: str) -> None:
    root = logging.getLogger()
    for replaced in root.handlers:
        if replaced not in handlers:
            replaced.close()  # a file handler lets go of its file; a stream handler leaves its stream open
    root.handlers[:] = handlers
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # the level given here, whatever a library set up before
    for handler in handlers:
        handler.addFilter(_drop_alembic_chatter)


def _drop_alembic_chatter(record: logging.LogRecord) -> bool:
    """Alembic announces its dialect on every schema check; only its upgrades are worth a line."""
    return not (
        record.name == "alembic.runtime.migration" and record.msg.startswith(("Context impl", "Will assume"))
    )
