"""The team as the settings page shows it: the company's Pipedrive users, each with where they stand in
WaPipe (installed or not, their installation's state) and the WhatsApp numbers they linked.

Pipedrive's users list is the roster; an installation or a number of someone that list does not name
(deactivated since, or the list could not be read) is still shown, from what WaPipe stores. Deactivated
users without an installation or a number are left out: there is nothing to do about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from server.domain.installations import Installation, InstallationStatus
from server.domain.models import Account


class MemberState(StrEnum):
    """Where a team member stands in WaPipe."""

    INSTALLED = "installed"
    NEEDS_REAUTH = "needs_reauth"
    UNINSTALLED = "uninstalled"
    NOT_INSTALLED = "not_installed"


_STATES = {
    InstallationStatus.ACTIVE: MemberState.INSTALLED,
    InstallationStatus.NEEDS_REAUTH: MemberState.NEEDS_REAUTH,
    InstallationStatus.UNINSTALLED: MemberState.UNINSTALLED,
}


@dataclass(frozen=True, slots=True)
class PipedriveUser:
    """One user of the company as Pipedrive's users list gives them."""

    id: int
    name: str
    email: str
    is_admin: bool
    active: bool = True


@dataclass(frozen=True, slots=True)
class TeamMember:
    user_id: int
    name: str  # "" when neither Pipedrive nor an installation names them
    email: str
    is_admin: bool
    state: MemberState
    detail: str  # what the installation's state says, e.g. why it needs re-authorisation
    numbers: tuple[Account, ...]  # the numbers they linked, in the order linked

    @property
    def label(self) -> str:
        return self.name or self.email or f"User {self.user_id}"


def team(
    users: Sequence[PipedriveUser] | None,
    installations: Sequence[Installation],
    accounts: Sequence[Account],
) -> tuple[TeamMember, ...]:
    """The team, admins first, then by name; ``users`` is ``None`` when Pipedrive could not be asked."""
    installed = {i.pipedrive_user_id: i for i in installations}
    numbers: dict[int, list[Account]] = {}
    for account in sorted(accounts, key=lambda a: a.id):
        numbers.setdefault(account.owner_user_id, []).append(account)
    listed = {u.id: u for u in users or ()}
    ids = {u.id for u in users or () if u.active} | set(installed) | set(numbers)
    members = []
    for user_id in ids:
        user, installation = listed.get(user_id), installed.get(user_id)
        members.append(
            TeamMember(
                user_id=user_id,
                name=(user.name if user else "") or (installation.name if installation else ""),
                email=(user.email if user else "") or (installation.email if installation else ""),
                is_admin=user.is_admin if user else bool(installation and installation.is_admin),
                state=_STATES[installation.status] if installation else MemberState.NOT_INSTALLED,
                detail=installation.status_detail if installation else "",
                numbers=tuple(numbers.get(user_id, ())),
            )
        )
    return tuple(sorted(members, key=lambda m: (not m.is_admin, m.label.casefold(), m.user_id)))


def member_names(installations: Sequence[Installation]) -> dict[int, str]:
    """Who each installed user is, by Pipedrive user id: their name, else their email."""
    return {i.pipedrive_user_id: i.name or i.email for i in installations if i.name or i.email}
