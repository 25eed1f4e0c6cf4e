"""The custom-UI panel token: HS256 only, signed with our secret, fresh, with numeric userId/companyId."""

from __future__ import annotations

import base64
import hashlib
import hmac
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


def test_ids_written_in_plain_digits_are_read() -> None:
    # Pipedrive does not document the claims' JSON types: "22" is company 22, as 22 is.
    assert verify_panel_token(sign(claims(userId="11", companyId="22")), SECRET) == PanelIdentity(
        company_id=22, user_id=11
    )


@pytest.mark.parametrize("written", ["022", "+22", " 22", "22 ", "2.2e1", "٢٢", "2147483648", ""])
def test_ids_written_any_other_way_are_refused(written: str) -> None:
    assert reason_for(sign(claims(companyId=written))) == "token_invalid"


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


def hand_signed(payload_json: str, secret: str = SECRET) -> str:
    """A token whose claims are exactly ``payload_json`` (numbers spelled as written), signed with hmac."""
    header = b64({"alg": "HS256", "typ": "JWT"})
    body = base64.urlsafe_b64encode(payload_json.encode()).rstrip(b"=").decode()
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_a_hand_signed_token_is_accepted() -> None:
    exp = int(time.time()) + 300
    token = hand_signed(f'{{"userId":11,"companyId":22,"exp":{exp}}}')
    assert verify_panel_token(token, SECRET) == PanelIdentity(company_id=22, user_id=11)


@pytest.mark.parametrize(
    "claim",
    [
        {"exp": "9999999999"},  # a numeric string: not a number
        {"exp": " 9999999999"},
        {"exp": True},  # not a number either
        {"exp": 9999999999.0},  # a number, but not a whole one as JSON writes it
        {"exp": float("inf")},  # JSON's Infinity
        {"exp": 2**63},  # beyond 64 bits: a token that would never expire
        {"exp": 10**4000},
        {"iat": "1700000000"},
        {"iat": False},
        {"iat": 2**64},
        {"nbf": "1700000000"},
        {"nbf": 1.5},
        {"nbf": -(2**63) - 1},
    ],
    ids=[
        "exp-string",
        "exp-spaced-string",
        "exp-bool",
        "exp-float",
        "exp-infinity",
        "exp-2**63",
        "exp-4001-digits",
        "iat-string",
        "iat-bool",
        "iat-2**64",
        "nbf-string",
        "nbf-fraction",
        "nbf-below-64-bits",
    ],
)
def test_times_must_be_whole_json_numbers_within_64_bits(claim: dict[str, Any]) -> None:
    assert reason_for(sign(claims(**claim))) == "token_invalid"


@pytest.mark.parametrize(
    "spelled",
    ['"exp":"{exp}"', '"exp":{exp}.0', '"exp":{exp}e0', '"exp":true'],
    ids=["string", "decimal-point", "exponent", "true"],
)
def test_a_hand_signed_time_that_is_no_json_integer_is_refused(spelled: str) -> None:
    exp = int(time.time()) + 300
    payload = '{"userId":11,"companyId":22,' + spelled.format(exp=exp) + "}"
    assert reason_for(hand_signed(payload)) == "token_invalid"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("companyId", 2**31),  # ids are stored in 32-bit INTEGER columns
        ("companyId", 2**63),
        ("companyId", 2**64),
        ("companyId", 10**4000),
        ("userId", 2**31),
        ("userId", -1),
        ("userId", "1e3"),
        ("userId", " 1"),
        ("userId", 11.0),
    ],
    ids=["2**31", "2**63", "2**64", "4001-digits", "user-2**31", "negative", "exponent", "spaced", "float"],
)
def test_ids_beyond_what_is_stored_are_refused(claim: str, value: Any) -> None:
    assert reason_for(sign(claims(**{claim: value}))) == "token_invalid"


def test_the_largest_storable_ids_are_accepted() -> None:
    token = sign(claims(userId=2**31 - 1, companyId=2**31 - 1))
    assert verify_panel_token(token, SECRET) == PanelIdentity(company_id=2**31 - 1, user_id=2**31 - 1)


def test_a_token_not_yet_valid_is_refused() -> None:
    assert reason_for(sign(claims(nbf=int(time.time()) + 3600))) == "token_invalid"


def test_a_time_that_is_no_number_is_named() -> None:
    with pytest.raises(NotAuthenticated) as caught:
        verify_panel_token(sign(claims(exp="9999999999")), SECRET)
    assert (caught.value.reason, caught.value.message) == (
        "token_invalid",
        "The Pipedrive panel token is not valid (claim exp is not a whole number of seconds)",
    )
