"""The panel token's refusals word for word, its id claims at their edges, and the one warning it silences.

Tokens are signed here with PyJWT; where the refusal quotes PyJWT, the quote is taken from PyJWT itself."""

from __future__ import annotations

import time
import warnings
from typing import Any

import jwt as pyjwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from server.domain.errors import NotAuthenticated
from server.pipedrive import jwt as panel_jwt
from server.pipedrive.jwt import ALGORITHM, LEEWAY_SECONDS, PanelIdentity, verify_panel_token

SECRET = "panel-jwt-secret-0123456789abcdef"


def token(secret: str = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"userId": 11, "companyId": 22, "iat": now, "exp": now + 300}
    payload.update(claims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return pyjwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm=algorithm)


def refusal(value: str | None, secret: str = SECRET) -> NotAuthenticated:
    with pytest.raises(NotAuthenticated) as refused:
        verify_panel_token(value, secret)
    return refused.value


def test_the_algorithm_and_leeway() -> None:
    assert (ALGORITHM, LEEWAY_SECONDS) == ("HS256", 10)


@pytest.mark.parametrize("value", [None, ""])
def test_no_token_is_named(value: str | None) -> None:
    error = refusal(value)
    assert (error.reason, error.message) == ("token_missing", "The panel request carried no Pipedrive token")


def test_no_secret_is_a_configuration_error_not_a_refusal() -> None:
    with pytest.raises(ValueError, match=r"^the Pipedrive JWT secret is not configured$"):
        verify_panel_token(token(), "")


def test_a_malformed_token_says_so() -> None:
    error = refusal("not.a.token")
    assert (error.reason, error.message) == (
        "token_invalid",
        "The Pipedrive panel token is not valid (malformed token)",
    )


def test_another_algorithm_is_named_in_the_refusal() -> None:
    error = refusal(token(algorithm="HS512"))
    assert (error.reason, error.message) == (
        "token_invalid",
        "The Pipedrive panel token is not valid (algorithm 'HS512' is not accepted)",
    )


def test_an_expired_token_asks_for_a_reload() -> None:
    error = refusal(token(exp=int(time.time()) - 60))
    assert (error.reason, error.message) == (
        "token_expired",
        "The Pipedrive panel token expired; reload the panel",
    )


def test_a_token_ten_seconds_past_its_expiry_is_still_accepted() -> None:
    assert verify_panel_token(token(exp=int(time.time()) - 5), SECRET) == PanelIdentity(22, 11)


def test_a_foreign_signature_quotes_pyjwt() -> None:
    forged = token(secret="someone-elses-secret-0123456789ab")
    with pytest.raises(pyjwt.InvalidTokenError) as pyjwt_says:
        pyjwt.decode(forged, SECRET, algorithms=["HS256"])
    error = refusal(forged)
    assert (error.reason, error.message) == (
        "token_invalid",
        f"The Pipedrive panel token is not valid ({pyjwt_says.value})",
    )


def test_one_is_a_valid_id() -> None:
    assert verify_panel_token(token(companyId=1, userId=1), SECRET) == PanelIdentity(1, 1)
    assert verify_panel_token(token(companyId="1", userId="1"), SECRET) == PanelIdentity(1, 1)


def test_the_largest_id_is_valid_written_either_way() -> None:
    largest = 2**31 - 1
    assert verify_panel_token(token(companyId=largest, userId=str(largest)), SECRET) == PanelIdentity(
        largest, largest
    )


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("companyId", 0),
        ("companyId", "0"),
        ("companyId", "01"),
        ("companyId", "2147483648"),
        ("companyId", -3),
        ("companyId", True),
        ("companyId", "٣"),
        ("companyId", None),
        ("userId", 0),
        ("userId", "0"),
        ("userId", "x1"),
        ("userId", 1.5),
    ],
)
def test_an_id_claim_that_is_no_positive_integer_is_named(claim: str, value: Any) -> None:
    error = refusal(token(**{claim: value}))
    assert (error.reason, error.message) == (
        "token_invalid",
        f"The Pipedrive panel token is not valid (claim {claim} is missing or not a positive integer)",
    )


def test_only_the_key_length_warning_is_silenced(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short Developer Hub secret verifies quietly, but nothing else PyJWT warns about is hidden."""
    decode = pyjwt.decode

    def decode_with_a_warning(*args: Any, **kwargs: Any) -> Any:
        warnings.warn("something PyJWT wants heard", DeprecationWarning, stacklevel=2)
        return decode(*args, **kwargs)

    monkeypatch.setattr(panel_jwt.jwt, "decode", decode_with_a_warning)
    with pytest.warns(DeprecationWarning, match="something PyJWT wants heard"):
        assert verify_panel_token(token(secret="short"), "short") == PanelIdentity(22, 11)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["soon", "1700000000", 1.5, [1]])
def test_a_time_claim_that_is_no_integer_is_named_in_our_words(claim: str, value: Any) -> None:
    """Refused by WaPipe's own check, before PyJWT reads (or quotes) any time claim."""
    error = refusal(token(**{claim: value}))
    assert (error.reason, error.message) == (
        "token_invalid",
        f"The Pipedrive panel token is not valid (claim {claim} is not a whole number of seconds)",
    )
