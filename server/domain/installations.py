"""Installations: one Pipedrive user's authorisation of WaPipe in one company.

Installs are per user. The earliest active admin installation runs the company's sync; each other user's
installation authorises their own panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class InstallationStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"  # the refresh token stopped working: the user must install again
    UNINSTALLED = "uninstalled"  # Pipedrive told us the user uninstalled; tokens are gone


@dataclass(frozen=True, slots=True)
class Installation:
    """What the team page and the connector know about an installation (never its tokens)."""

    id: int
    company_id: int  # WaPipe's company id (not Pipedrive's)
    pipedrive_user_id: int
    name: str
    email: str
    is_admin: bool
    status: InstallationStatus
    status_detail: str
    scopes: frozenset[str]
    api_domain: str
    created_at: datetime
    updated_at: datetime
    uninstalled_at: datetime | None
    session_epoch: int = 0  # one more at every uninstall: what was granted before it is not honoured
    language: str = ""  # the language the user reads Pipedrive in, as /users/me said at install ("ja")

    @property
    def is_active(self) -> bool:
        return self.status is InstallationStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """An installation's OAuth tokens after decryption. ``repr`` never shows them."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scopes: frozenset[str]
    api_domain: str
