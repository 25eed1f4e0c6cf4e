"""Verifying the JWT Pipedrive puts in custom-UI iframe URLs and hands out via ``get_signed_token``.

HS256 only, signed with the extension's JWT secret (or the app's client secret when none is set), with a
short ``exp`` (5 minutes). ``userId`` and ``companyId`` come from the claims, never from the query string.
Times (``exp``, ``iat``, ``nbf``) must be JSON integers within 64 bits, ids JSON integers WaPipe can store.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.types import Options
from jwt.warnings import InsecureKeyLengthWarning

from server.domain.bounds import id_from_json, id_from_text, int64_from_json
from server.domain.errors import NotAuthenticated
from server.domain.text import Text

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10
TIME_CLAIMS = ("exp", "iat", "nbf")


@dataclass(frozen=True)
class PanelIdentity:
    company_id: int
    user_id: int


def verify_panel_token(token: str | None, secret: str, *, leeway: float = LEEWAY_SECONDS) -> PanelIdentity:
    """The Pipedrive company and user a panel token was issued for.

    Raises ``NotAuthenticated`` with reason ``token_missing``, ``token_expired`` or ``token_invalid``.
    """
    if not token:
        raise NotAuthenticated(Text("The panel request carried no Pipedrive token"), reason="token_missing")
    if not secret:
        raise ValueError("the Pipedrive JWT secret is not configured")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise _invalid("malformed token") from error
    if header.get("alg") != ALGORITHM:
        raise _invalid(f"algorithm {header.get('alg')!r} is not accepted")
    try:
        with warnings.catch_warnings():
            # The secret is whatever was typed into Pipedrive's Developer Hub; its length is not ours to pick.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            claims = _decode(token, secret, leeway, check_times=False)
            for name in TIME_CLAIMS:  # PyJWT would take "9999999999" or true for a time, or fail on 1e400
                if name in claims and int64_from_json(claims[name]) is None:
                    raise _invalid(f"claim {name} is not a whole number of seconds")
            _decode(token, secret, leeway, check_times=True)
    except jwt.ExpiredSignatureError as error:
        raise NotAuthenticated(
            Text("The Pipedrive panel token expired; reload the panel"), reason="token_expired"
        ) from error
    except jwt.InvalidTokenError as error:
        raise _invalid(str(error)) from error
    return PanelIdentity(company_id=_id_claim(claims, "companyId"), user_id=_id_claim(claims, "userId"))


def _decode(token: str, secret: str, leeway: float, *, check_times: bool) -> dict[str, Any]:
    options: Options = {
        "require": ["exp"],
        "verify_exp": check_times,
        "verify_iat": check_times,
        "verify_nbf": check_times,
    }
    claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM], leeway=leeway, options=options)
    return claims


def _id_claim(claims: dict[str, Any], name: str) -> int:
    """An id from 1 to ``MAX_ID``: a JSON integer, or the same written in plain ASCII digits.

    Pipedrive does not document the claims' JSON types, so a string of digits is read as the id it spells
    (nothing else: no sign, space, leading zero, other digits or bool), never anything WaPipe cannot store.
    """
    value = claims.get(name)
    found = id_from_text(value) if isinstance(value, str) else id_from_json(value)
    if found is None:
        raise _invalid(f"claim {name} is missing or not a positive integer")
    return found


def _invalid(detail: str) -> NotAuthenticated:
    invalid = Text("The Pipedrive panel token is not valid (%(detail)s)", detail=detail)
    return NotAuthenticated(invalid, reason="token_invalid")
