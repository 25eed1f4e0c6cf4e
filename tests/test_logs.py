from __future__ import annotations

import io
import json
import logging

from server.logs import JsonFormatter, Redactor, configure_logging


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


def test_oauth_codes_in_access_log_lines_are_redacted() -> None:
    redact = Redactor()
    line = redact('127.0.0.1 - "GET /oauth/callback?code=1.2.abcdef123&state=s HTTP/1.1" 302')
    assert "abcdef123" not in line
    assert "state=s" in line
    assert redact("postcode=12345") == "postcode=12345"
