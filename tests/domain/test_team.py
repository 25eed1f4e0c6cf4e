"""The team the settings page shows: Pipedrive's users with their place in WaPipe and their numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.installations import Installation, InstallationStatus
from server.domain.models import Account
from server.domain.team import MemberState, PipedriveUser, member_names, team

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def installation(user_id: int, name: str, status: InstallationStatus, *, admin: bool = False) -> Installation:
    return Installation(
        id=user_id, company_id=1, pipedrive_user_id=user_id, name=name, email=f"{user_id}@acme.test",
        is_admin=admin, status=status,
        status_detail="token refused" if status is InstallationStatus.NEEDS_REAUTH else "",
        scopes=frozenset(), api_domain="https://acme.pipedrive.test", created_at=NOW, updated_at=NOW,
        uninstalled_at=None,
    )  # fmt: skip


def account(account_id: int, owner: int, e164: str | None, status: str = "connected") -> Account:
    return Account(account_id, 1, owner, "waha", f"s{account_id}", e164, "", status, "", None)


def test_every_pipedrive_user_is_listed_with_their_installation_and_numbers() -> None:
    users = [
        PipedriveUser(1, "Anna Admin", "anna@acme.test", is_admin=True),
        PipedriveUser(2, "Bernd Agent", "bernd@acme.test", is_admin=False),
        PipedriveUser(3, "Carla Sales", "carla@acme.test", is_admin=False),
        PipedriveUser(4, "Dora Gone", "dora@acme.test", is_admin=False, active=False),
        PipedriveUser(5, "Emil Former", "emil@acme.test", is_admin=False, active=False),
    ]
    installations = [
        installation(1, "Anna A.", InstallationStatus.ACTIVE, admin=True),
        installation(3, "Carla", InstallationStatus.NEEDS_REAUTH),
        installation(5, "Emil", InstallationStatus.UNINSTALLED),
    ]
    accounts = [
        account(11, 1, "+4915112345678"),
        account(12, 3, None, "needs_pairing"),
        account(10, 1, "+4917000"),
    ]
    members = team(users, installations, accounts)
    assert [(m.user_id, m.label, m.state) for m in members] == [
        (1, "Anna Admin", MemberState.INSTALLED),  # admins first; Pipedrive's name wins
        (2, "Bernd Agent", MemberState.NOT_INSTALLED),
        (3, "Carla Sales", MemberState.NEEDS_REAUTH),
        (5, "Emil Former", MemberState.UNINSTALLED),  # deactivated, but WaPipe holds an installation
    ]  # Dora: deactivated, nothing in WaPipe: left out
    assert [a.id for a in members[0].numbers] == [10, 11] and members[1].numbers == ()
    assert members[2].detail == "token refused" and [a.e164 for a in members[2].numbers] == [None]


def test_without_pipedrives_list_the_installations_and_numbers_still_show() -> None:
    members = team(
        None, [installation(1, "", InstallationStatus.ACTIVE, admin=True)], [account(1, 9, "+491")]
    )
    assert [(m.user_id, m.label, m.state, m.is_admin) for m in members] == [
        (1, "1@acme.test", MemberState.INSTALLED, True),
        (9, "User 9", MemberState.NOT_INSTALLED, False),
    ]


def test_member_names_come_from_installations() -> None:
    names = member_names(
        [installation(1, "Anna", InstallationStatus.ACTIVE), installation(2, "", InstallationStatus.ACTIVE)]
    )
    assert names == {1: "Anna", 2: "2@acme.test"}
