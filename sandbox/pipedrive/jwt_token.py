"""The custom-UI JWT: HS256 over ``userId``, ``companyId``, ``iat`` and ``exp`` (5 minutes), sandbox clock."""

from __future__ import annotations

from datetime import timedelta

import jwt

from sandbox.pipedrive.state import OAuthClient, SandboxState, SandboxUser

TOKEN_TTL = timedelta(minutes=5)


def sign_extension_token(state: SandboxState, client: OAuthClient, user: SandboxUser) -> str:
    """A token like the one Pipedrive puts in the iframe URL and returns from ``get_signed_token``.

    Signed with the client's JWT secret (which `SandboxState.add_client` defaults to the client secret).
    """
    issued = state.clock.now()
    claims = {
        "userId": user.id,
        "companyId": user.company_id,
        "iat": int(issued.timestamp()),
        "exp": int((issued + TOKEN_TTL).timestamp()),
    }
    return jwt.encode(claims, client.jwt_secret, algorithm="HS256")
