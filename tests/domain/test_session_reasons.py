from __future__ import annotations

import pytest

from server.domain.session_reasons import REASONS, not_connected_reason
from server.domain.whatsapp import SessionStatus


@pytest.mark.parametrize(
    ("status", "detail", "reason"),
    [
        ("stopped", "STOPPED", "session stopped"),
        ("failed", "FAILED", "connection failed: the phone may be offline or logged out"),
        ("needs_pairing", "SCAN_QR_CODE", "waiting for the QR code to be scanned"),
        ("needs_pairing", "PASSKEY_REQUIRED", "waiting for the QR code to be scanned"),
        ("logged_out", "", "logged out on the phone: link it again"),
        ("failed", "", "connection failed: the phone may be offline or logged out"),
    ],
)
def test_the_gateways_status_names_become_words(status: str, detail: str, reason: str) -> None:
    assert str(not_connected_reason(status, detail)) == reason


def test_a_specific_detail_is_kept() -> None:
    detail = "gateway not reachable: gateway_unavailable"
    assert not_connected_reason("failed", detail) == detail
    assert not_connected_reason("disconnected", "  phone offline ") == "phone offline"


def test_every_status_has_a_reason() -> None:
    assert {status.value for status in SessionStatus} <= REASONS.keys()
    assert str(not_connected_reason("something new", "")) == "not connected"
