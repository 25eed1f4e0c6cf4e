from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from server.logs import JsonFormatter, Redactor, TextFormatter, configure_demo_logging, configure_logging


def _log_line(redactor: Redactor, message: str, **extra: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redactor))
    logger = logging.getLogger("test.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.warning(message, extra=extra)
    return json.loads(stream.getvalue())  # type: ignore[no-any-return]


def test_configured_secrets_are_redacted_in_message_and_fields() -> None:
    entry = _log_line(
        Redactor(["sup3r-secret-value"]), "token sup3r-secret-value used", header="sup3r-secret-value"
    )
    assert "sup3r-secret-value" not in json.dumps(entry)
    assert entry["msg"] == "token [redacted] used"
    assert entry["header"] == "[redacted]"


def test_credential_shapes_are_redacted_even_when_unknown() -> None:
    redact = Redactor()
    assert redact("Authorization: Bearer v1u:AbCdEf0123456789") == "Authorization: Bearer [redacted]"
    assert "xyz987654" not in redact("refresh_token=xyz987654&grant_type=refresh_token")
    assert "hunter22" not in redact('{"client_secret": "hunter22"}')
    assert "k3y-value" not in redact("X-Api-Key: k3y-value")


def test_json_lines_carry_level_logger_and_extra_fields() -> None:
    entry = _log_line(Redactor(), "hello", company_id=7)
    assert entry["level"] == "warning"
    assert entry["logger"] == "test.redaction"
    assert entry["company_id"] == 7


def test_configure_logging_routes_library_loggers_through_one_handler() -> None:
    configure_logging("INFO", fmt="json", secrets=["abcdefgh"])
    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert logging.getLogger("uvicorn.access").propagate
    assert root.handlers[0].format(logging.makeLogRecord({"msg": "x abcdefgh"})).count("[redacted]") == 1


def test_a_library_logger_quieted_before_logs_at_the_level_given(capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn's own logging set-up puts its access log at WARNING (``log_level="warning"``); once WaPipe's
    logging is configured, every request is logged at the level WaPipe was given."""
    access = logging.getLogger("uvicorn.access")
    root = logging.getLogger()
    saved = root.handlers[:], root.level, access.handlers[:], access.propagate, access.level
    access.setLevel(logging.WARNING)
    try:
        configure_logging("INFO", fmt="text")
        access.info('127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200')
        assert '"GET /healthz HTTP/1.1" 200' in capsys.readouterr().err
    finally:
        root.handlers[:], level, access.handlers[:], access.propagate, access_level = saved
        root.setLevel(level)
        access.setLevel(access_level)


def test_oauth_codes_in_access_log_lines_are_redacted() -> None:
    redact = Redactor()
    line = redact('127.0.0.1 - "GET /oauth/callback?code=1.2.abcdef123&state=s HTTP/1.1" 302')
    assert line == '127.0.0.1 - "GET /oauth/callback?code=[redacted]&state=[redacted] HTTP/1.1" 302'
    assert redact("postcode=12345") == "postcode=12345"


# Bearer values in URLs: every query value that lets its holder in (a panel token, an installed-page ticket,
# a media link's signature, an OAuth code or state) is redacted; the rest of the request line stays readable.
ACCESS = '127.0.0.1:50312 - "GET {} HTTP/1.1" 200'
PANEL_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOjEsImNvbXBhbnlJZCI6Mn0.Qm9ndXNTaWduYXR1cmVWYWx1ZQ"
)
TICKET = "eyJjIjoxLCJ1IjoyLCJuIjoiQWNtZSJ9.aQ3xLw.kZ1g0vB7mQ2cW9pT4rN8sY6dE3fH5jL"


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (
            ACCESS.format(f"/panel?resource=person&selectedIds=1&token={PANEL_JWT}"),
            '127.0.0.1:50312 - "GET /panel?resource=person&selectedIds=1&token=[redacted] HTTP/1.1" 200',
        ),
        (
            ACCESS.format(f"/settings?token={PANEL_JWT}&theme=dark"),
            '127.0.0.1:50312 - "GET /settings?token=[redacted]&theme=dark HTTP/1.1" 200',
        ),
        (
            ACCESS.format(f"/installed?ticket={TICKET}"),
            '127.0.0.1:50312 - "GET /installed?ticket=[redacted] HTTP/1.1" 200',
        ),
        (
            ACCESS.format("/installed/setup?ticket=abc.def.ghi&polls=3"),
            '127.0.0.1:50312 - "GET /installed/setup?ticket=[redacted]&polls=3 HTTP/1.1" 200',
        ),
        (
            ACCESS.format("/panel/media/17?c=4&e=1767229200&s=0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            '127.0.0.1:50312 - "GET /panel/media/17?c=4&e=1767229200&s=[redacted] HTTP/1.1" 200',
        ),
        (
            ACCESS.format("/panel/media/17?s=0f1e2d3c4b5a69788796a5b4c3d2e1f0&c=4&e=1767229200"),
            '127.0.0.1:50312 - "GET /panel/media/17?s=[redacted]&c=4&e=1767229200 HTTP/1.1" 200',
        ),
        (
            ACCESS.format("/oauth/callback?code=v1.7d0c2b.a9f3e&state=s1gned-state-value"),
            '127.0.0.1:50312 - "GET /oauth/callback?code=[redacted]&state=[redacted] HTTP/1.1" 200',
        ),
        (
            ACCESS.format(
                "/webhooks/cloud?hub.mode=subscribe&hub.verify_token=meta-verify-42&hub.challenge=77"
            ),
            '127.0.0.1:50312 - "GET /webhooks/cloud?hub.mode=subscribe&hub.verify_token=[redacted]'
            '&hub.challenge=77 HTTP/1.1" 200',
        ),
        (
            'HTTP Request: GET http://127.0.0.1:8000/installed?ticket=abc.def.ghi "HTTP/1.1 200 OK"',
            'HTTP Request: GET http://127.0.0.1:8000/installed?ticket=[redacted] "HTTP/1.1 200 OK"',
        ),
        (
            ACCESS.format("/signin?next=%2Fpanel%3Fselected%3D1%26token%3Dabc123def456"),
            '127.0.0.1:50312 - "GET /signin?next=%2Fpanel%3Fselected%3D1%26token%3D[redacted] HTTP/1.1" 200',
        ),
        (
            f"the panel was opened with {PANEL_JWT} in its address",
            "the panel was opened with [redacted] in its address",
        ),
    ],
    ids=[
        "panel-token",
        "settings-token",
        "installed-ticket",
        "setup-ticket",
        "media-signature",
        "media-signature-first",
        "oauth-code-and-state",
        "cloud-verify-token",
        "httpx-outgoing",
        "percent-encoded",
        "bare-jwt",
    ],
)
def test_bearer_query_values_are_redacted(logged: str, expected: str) -> None:
    assert Redactor()(logged) == expected


@pytest.mark.parametrize(
    "kept",
    [
        '127.0.0.1:1 - "GET /panel/messages?person_id=4&deal_id=9&v=3f2a HTTP/1.1" 204',
        '127.0.0.1:1 - "GET /chats/5/messages?after=120&items=3&ids=4&posts=2 HTTP/1.1" 200',
        '127.0.0.1:1 - "GET /numbers/3/pairing HTTP/1.1" 200',
        "tokens=3 sessions=2 state of the sync: linked",
    ],
)
def test_other_query_values_are_kept(kept: str) -> None:
    assert Redactor()(kept) == kept


def test_bearer_values_are_redacted_in_json_fields_and_exception_text() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor()))
    logger = logging.getLogger("test.redaction.fields")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        raise ValueError(f"could not open /panel/media/3?c=1&e=2&s=feedbeef0011 for {PANEL_JWT}")
    except ValueError:
        logger.exception("failed", extra={"path": f"/installed?ticket={TICKET}", "url": "/x?token=abc"})
    line = stream.getvalue()
    for secret in ("feedbeef0011", PANEL_JWT, TICKET, "token=abc"):
        assert secret not in line
    entry = json.loads(line)
    assert entry["path"] == "/installed?ticket=[redacted]"
    assert entry["url"] == "/x?token=[redacted]"
    assert "/panel/media/3?c=1&e=2&s=[redacted] for [redacted]" in entry["exc"]


def test_bearer_values_are_redacted_in_text_lines_and_exception_text() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter(Redactor()))
    logger = logging.getLogger("test.redaction.text")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        raise ValueError("GET /installed?ticket=abc.def.ghi failed")
    except ValueError:
        logger.exception('127.0.0.1:1 - "GET %s HTTP/1.1" %d', "/panel?token=abc.def.ghi&theme=light", 200)
    text = stream.getvalue()
    assert "abc.def.ghi" not in text
    assert 'GET /panel?token=[redacted]&theme=light HTTP/1.1" 200' in text
    assert "ValueError: GET /installed?ticket=[redacted] failed" in text


def _without_time_and_level(line: str) -> str:
    return re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ +", "", line)


def test_the_demo_logs_everything_to_its_file_and_little_to_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console: warnings and errors, WaPipe's own events; the file: everything else too, redacted,
    with each of the demo's HTTP calls once (the answering app's access line, not the calling client's)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    log_file = tmp_path / "var" / "demo.log"
    log_file.parent.mkdir()
    log_file.write_text("the previous demo's log\n")
    try:
        configure_demo_logging(log_file, secrets=["abcdefgh"])
        logging.getLogger("uvicorn.error").info("Started server process [1]")
        logging.getLogger("uvicorn.access").info('127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200')
        logging.getLogger("httpx").info('HTTP Request: GET http://127.0.0.1:8000/healthz "HTTP/1.1 200 OK"')
        logging.getLogger("alembic.runtime.migration").info("Running upgrade  -> 0001, company")
        logging.getLogger("server.services.install").info("installed")
        logging.getLogger("wapipe").info("database migrated")
        logging.getLogger("httpx").warning("a client warning")
        logging.getLogger("uvicorn.error").error("a server error with abcdefgh")
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:], level = saved
        root.setLevel(level)
    console = [_without_time_and_level(line) for line in capsys.readouterr().err.splitlines()]
    assert console == [
        "server.services.install: installed",
        "wapipe: database migrated",
        "httpx: a client warning",
        "uvicorn.error: a server error with [redacted]",
    ]
    written = [_without_time_and_level(line) for line in log_file.read_text().splitlines()]
    assert written == [
        "uvicorn.error: Started server process [1]",
        'uvicorn.access: 127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200',
        "alembic.runtime.migration: Running upgrade  -> 0001, company",
        "server.services.install: installed",
        "wapipe: database migrated",
        "httpx: a client warning",
        "uvicorn.error: a server error with [redacted]",
    ]
