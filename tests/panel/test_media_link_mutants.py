"""Signed media links for the panel's ``<img>`` and ``<audio>``: the derivation, the expiry and the refusals,
with every expected value computed here from the documented recipe (SHA-256 of a prefix and the secret as
the key, HMAC-SHA256 over ``company:message:expires``, 32 hex digits; expiry at the end of the next hour).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

from server.web.panel_context import MEDIA_LINK_SECONDS, media_link, media_link_valid, media_signature

NOW = 1_772_366_395  # 2026-03-01 12:39:55 UTC: 2395 s into the hour


SECRET_KEY = "the-secret-key"
JWT_SECRET = "the-jwt-secret"


TIME = [float(NOW)]  # what the resources' clock reads; the ``clock`` fixture moves it


def resources(secret_key: str = SECRET_KEY, jwt_secret: str = JWT_SECRET) -> Any:
    settings = SimpleNamespace(secret_key=SecretStr(secret_key), pipedrive_jwt_secret=SecretStr(jwt_secret))
    clock = SimpleNamespace(now=lambda: datetime.fromtimestamp(TIME[0], UTC))
    return SimpleNamespace(settings=settings, clock=clock)


def expected_signature(secret: str, company_id: int, message_id: int, expires: int) -> str:
    key = hashlib.sha256(b"wapipe-panel-media:" + secret.encode()).digest()
    return hmac.new(key, f"{company_id}:{message_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def clock() -> Iterator[list[float]]:
    """The time the resources' clock reads, settable by the test."""
    TIME[0] = float(NOW)
    yield TIME
    TIME[0] = float(NOW)


def test_links_last_an_hour_at_least() -> None:
    assert MEDIA_LINK_SECONDS == 3600


def test_the_signature_is_the_documented_hmac() -> None:
    assert media_signature(resources(), 3, 77, 1_772_370_000) == expected_signature(
        "the-secret-key", 3, 77, 1_772_370_000
    )
    assert len(media_signature(resources(), 3, 77, 1_772_370_000)) == 32


def test_without_a_secret_key_the_jwt_secret_signs() -> None:
    assert media_signature(resources(secret_key=""), 3, 77, 1_772_370_000) == expected_signature(
        "the-jwt-secret", 3, 77, 1_772_370_000
    )


def test_every_part_of_the_link_changes_the_signature() -> None:
    signatures = {
        media_signature(resources(), 3, 77, 1_772_370_000),
        media_signature(resources(), 4, 77, 1_772_370_000),
        media_signature(resources(), 3, 78, 1_772_370_000),
        media_signature(resources(), 3, 77, 1_772_370_001),
        media_signature(resources("another-secret"), 3, 77, 1_772_370_000),
    }
    assert len(signatures) == 5


def test_a_link_expires_at_the_end_of_the_next_hour(clock: list[float]) -> None:
    expires = (NOW // 3600) * 3600 + 2 * 3600
    signature = expected_signature("the-secret-key", 3, 77, expires)
    assert media_link(resources(), 3, 77) == f"/panel/media/77?c=3&e={expires}&s={signature}"


def test_the_link_is_the_same_all_hour(clock: list[float]) -> None:
    hour = (NOW // 3600) * 3600
    clock[0] = float(hour)
    first = media_link(resources(), 3, 77)
    clock[0] = float(hour + 3599)
    assert media_link(resources(), 3, 77) == first
    clock[0] = float(hour + 3600)
    assert media_link(resources(), 3, 77) != first


def test_a_link_is_valid_up_to_its_expiry_and_not_after(clock: list[float]) -> None:
    expires = NOW + 100
    signature = expected_signature("the-secret-key", 3, 77, expires)
    assert media_link_valid(resources(), 3, 77, expires, signature)
    clock[0] = float(expires)
    assert media_link_valid(resources(), 3, 77, expires, signature)
    clock[0] = expires + 0.5
    assert not media_link_valid(resources(), 3, 77, expires, signature)


@pytest.mark.parametrize(
    ("company_id", "message_id", "expires_offset", "signer"),
    [
        (4, 77, 100, "the-secret-key"),  # another company's id in the link
        (3, 78, 100, "the-secret-key"),  # another message
        (3, 77, 101, "the-secret-key"),  # a later expiry written into the link
        (3, 77, 100, "another-secret"),  # signed elsewhere
    ],
)
def test_a_tampered_link_is_refused(
    clock: list[float], company_id: int, message_id: int, expires_offset: int, signer: str
) -> None:
    signature = expected_signature(signer, 3, 77, NOW + 100)
    assert not media_link_valid(resources(), company_id, message_id, NOW + expires_offset, signature)
