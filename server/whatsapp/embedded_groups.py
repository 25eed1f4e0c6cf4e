"""whatsmeow's group events (through neonize) → what WaPipe keeps of a group: its subject (the chat's
name), its description and, when whatsmeow gives the whole list (``JoinedGroup``), its members; plus the
LID ↔ phone pairs the member list reveals. Pure.

``GroupInfoEvent`` reports one change: a new name or description gives a ``GroupInfo`` with no members
(it is not the member list); joins, leaves and role changes are not kept.
"""

from __future__ import annotations

from server.domain.errors import MalformedEvent
from server.domain.jids import JidKind, jid_or_none
from server.domain.whatsapp import GroupInfo, GroupMember, IdentityLearned, Peer, TransportEvent
from server.whatsapp.embedded_proto import flag, items, jid_spelling, sub, text, type_name
from server.whatsapp.embedded_results import Translated, skip, unique
from server.whatsapp.waha_payloads import peer_for

GROUP_EVENTS = frozenset({"neonize.GroupInfoEvent", "neonize.JoinedGroup"})
_MAX_SUBJECT = 255
_MAX_DESCRIPTION = 2048


def group_events(event: object, *, account_id: str) -> Translated:
    if type_name(event) == "neonize.JoinedGroup":
        return _joined(sub(event, "GroupInfo"), account_id=account_id)
    group = jid_or_none(jid_spelling(sub(event, "JID")))
    if group is None or not group.is_group:
        raise MalformedEvent("A group event from the embedded transport names no group")
    subject = _clip(text(sub(event, "Name"), "Name"), _MAX_SUBJECT)
    topic = sub(event, "Topic")
    description = _clip(text(topic, "Topic"), _MAX_DESCRIPTION)
    if subject is None and description is None and not flag(topic, "TopicDeleted"):
        return skip("group_change_not_kept", "Only a group's name and description are kept")
    peer = Peer(chat_key=group.chat_key, is_group=True, display_name=subject)
    return Translated(groups=(GroupInfo(peer=peer, subject=subject, description=description),))


def group_info_of(info: object, *, account_id: str) -> GroupInfo:
    """whatsmeow's ``GroupInfo`` (asked of a live session) as WaPipe's; ``MalformedEvent`` without a group."""
    return _joined(info, account_id=account_id).groups[0]


def _joined(info: object, *, account_id: str) -> Translated:
    group = jid_or_none(jid_spelling(sub(info, "JID")))
    if info is None or group is None or not group.is_group:
        raise MalformedEvent("A joined-group event from the embedded transport names no group")
    members: list[GroupMember] = []
    learned: list[IdentityLearned] = []
    for participant in items(info, "Participants"):
        member, pair = _member(participant, account_id=account_id)
        if member is not None:
            members.append(member)
        if pair is not None:
            learned.append(pair)
    subject = _clip(text(sub(info, "GroupName"), "Name"), _MAX_SUBJECT)
    peer = Peer(chat_key=group.chat_key, is_group=True, display_name=subject)
    description = _clip(text(sub(info, "GroupTopic"), "Topic"), _MAX_DESCRIPTION)
    found = GroupInfo(peer=peer, subject=subject, description=description, members=unique(members))
    events: tuple[TransportEvent, ...] = unique(learned)
    return Translated(events=events, groups=(found,))


def _member(participant: object, *, account_id: str) -> tuple[GroupMember | None, IdentityLearned | None]:
    jid = jid_or_none(jid_spelling(sub(participant, "JID")))
    phone = jid_or_none(jid_spelling(sub(participant, "PhoneNumber")))
    lid = jid_or_none(jid_spelling(sub(participant, "LID")))
    pair = IdentityLearned.of(account_id, lid, phone)
    if jid is None or jid.kind not in (JidKind.PHONE, JidKind.LID):
        return None, pair
    alt = phone if jid.kind is JidKind.LID else lid
    name = _clip(text(participant, "DisplayName"), _MAX_SUBJECT)
    role = (
        "superadmin"
        if flag(participant, "IsSuperAdmin")
        else "admin"
        if flag(participant, "IsAdmin")
        else "participant"
    )
    return GroupMember(peer=peer_for(jid, display_name=name, alt=alt), role=role), pair


def _clip(value: str | None, limit: int) -> str | None:
    return value.strip()[:limit] if value and value.strip() else None
