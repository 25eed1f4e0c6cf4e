"""The custom-UI panel token: HS256 only, signed with our secret, fresh, with numeric userId/companyId."""

from __future__ import annotations

import base64
import json
import time
import warnings
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.warnings import InsecureKeyLengthWarning

from server.domain.errors import NotAuthenticated
from server.pipedrive.jwt import PanelIdentity, verify_panel_token

SECRET = "panel-jwt-secret-0123456789abcdef"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {"userId": 11, "companyId": 22, "iat": now, "exp": now + 300}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def sign(payload: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return pyjwt.encode(payload, secret, algorithm=algorithm)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def reason_for(token: str | None) -> str:
    with pytest.raises(NotAuthenticated) as caught:
        verify_panel_token(token, SECRET)
    return caught.value.reason


def test_valid_token() -> None:
    assert verify_panel_token(sign(claims()), SECRET) == PanelIdentity(company_id=22, user_id=11)


def test_numeric_string_claims_are_accepted() -> None:
    token = sign(claims(userId="11", companyId="22"))
    assert verify_panel_token(token, SECRET) == PanelIdentity(company_id=22, user_id=11)


def test_a_short_secret_from_developer_hub_verifies_quietly() -> None:
    token = sign(claims(), secret="short")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert verify_panel_token(token, "short").company_id == 22


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(token: str | None) -> None:
    assert reason_for(token) == "token_missing"


def test_expired_token() -> None:
    assert reason_for(sign(claims(exp=int(time.time()) - 60))) == "token_expired"


def test_small_clock_skew_is_tolerated() -> None:
    token = sign(claims(exp=int(time.time()) - 5))
    assert verify_panel_token(token, SECRET).user_id == 11


def test_wrong_secret() -> None:
    assert reason_for(sign(claims(), secret="another-secret-0123456789abcdef")) == "token_invalid"


def test_alg_none_is_rejected() -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    assert reason_for(unsigned) == "token_invalid"


def test_hs512_is_rejected_even_with_the_right_secret() -> None:
    assert reason_for(sign(claims(), algorithm="HS512")) == "token_invalid"


def test_rs256_is_rejected() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert reason_for(pyjwt.encode(claims(), key, algorithm="RS256")) == "token_invalid"


def test_header_claiming_hs256_over_a_different_signature_is_rejected() -> None:
    token = sign(claims())
    header, payload, _ = token.split(".")
    assert reason_for(f"{header}.{payload}.{'A' * 43}") == "token_invalid"


@pytest.mark.parametrize(
    "missing", ["userId", "companyId", "exp"], ids=["no-userId", "no-companyId", "no-exp"]
)
def test_missing_claims(missing: str) -> None:
    # Built when the test runs, not at collection: a long suite would otherwise hand it an expired token.
    assert reason_for(sign(claims(**{missing: None}))) == "token_invalid"


@pytest.mark.parametrize(
    "overrides",
    [
        {"userId": True},
        {"userId": 11.5},
        {"userId": "eleven"},
        {"userId": "-11"},
        {"userId": 0},
        {"companyId": [22]},
        {"companyId": {"id": 22}},
        {"companyId": "２２"},
    ],
    ids=["bool", "float", "word", "negative", "zero", "list", "object", "fullwidth-digits"],
)
def test_claims_with_wrong_types(overrides: dict[str, Any]) -> None:
    assert reason_for(sign(claims(**overrides))) == "token_invalid"


@pytest.mark.parametrize("token", ["garbage", "a.b", "a.b.c"])
def test_malformed_tokens(token: str) -> None:
    assert reason_for(token) == "token_invalid"
