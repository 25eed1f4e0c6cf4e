"""``/users/me`` names the language the user reads Pipedrive in: ``language.language_code``, else the language
part of ``locale``."""

from __future__ import annotations

from typing import Any

import pytest

from server.pipedrive.models import CurrentUser

BASE: dict[str, Any] = {
    "id": 7,
    "company_id": 3,
    "name": "Yuki",
    "email": "yuki@acme.test",
    "is_admin": False,
}


@pytest.mark.parametrize(
    ("extra", "language"),
    [
        ({"language": {"language_code": "ja", "country_code": "JP"}, "locale": "ja_JP"}, "ja"),
        ({"language": {"language_code": "JA", "country_code": "JP"}}, "ja"),
        ({"locale": "pt_BR"}, "pt"),
        ({"language": {"language_code": None}, "locale": "de_DE"}, "de"),
        ({"language": "ja"}, ""),  # not the documented shape: no language rather than a guess
        ({}, ""),
    ],
)
def test_the_users_language(extra: dict[str, Any], language: str) -> None:
    assert CurrentUser.parse({**BASE, **extra}).language == language
