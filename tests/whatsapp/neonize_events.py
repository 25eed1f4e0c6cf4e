"""neonize's real event and protobuf types, built the way whatsmeow fills them, for the embedded
transport's translation tests (this machine never reaches WhatsApp)."""

from __future__ import annotations

from neonize.proto import Neonize_pb2 as N
from neonize.proto.waCommon import WACommon_pb2 as C
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E
from neonize.proto.waHistorySync import WAWebProtobufsHistorySync_pb2 as H
from neonize.proto.waWeb import WAWebProtobufsWeb_pb2 as W

ACCOUNT = "acct-embedded"
STAMP = 1_765_000_000  # 2025-12-06 05:46:40 UTC, in epoch seconds as neonize reports it
CUSTOMER = "4915112345678"  # a German mobile: +4915112345678
CUSTOMER_LID = "187743245021314"
OWN = "4930901820"  # our linked number: +4930901820
OWN_LID = "99887766554433"
GROUP = "120363025246125486"


def jid(user: str, server: str = "s.whatsapp.net", device: int = 0) -> N.JID:
    return N.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


# neonize's events are proto2 messages with required fields: whatsmeow always fills them, an absent JID as
# an empty one. The builders do the same, so every event here is one neonize could hand over.
EMPTY_JID = N.JID(User="", Server="", Device=0, RawAgent=0, Integrator=0, IsEmpty=True)


def source(
    chat: N.JID,
    sender: N.JID,
    *,
    from_me: bool = False,
    sender_alt: N.JID | None = None,
    recipient_alt: N.JID | None = None,
) -> N.MessageSource:
    return N.MessageSource(
        Chat=chat,
        Sender=sender,
        IsFromMe=from_me,
        IsGroup=chat.Server == "g.us",
        SenderAlt=sender_alt if sender_alt is not None else EMPTY_JID,
        RecipientAlt=recipient_alt if recipient_alt is not None else EMPTY_JID,
        BroadcastListOwner=EMPTY_JID,
    )


def message_event(
    content: E.Message,
    *,
    wa_id: str = "3EB0C767D26A1D8B4F3A",
    src: N.MessageSource | None = None,
    push_name: str = "Kunde GmbH",
    timestamp: int = STAMP,
    **flags: bool,
) -> N.Message:
    info = N.MessageInfo(
        MessageSource=src if src is not None else source(jid(CUSTOMER), jid(CUSTOMER)),
        ID=wa_id,
        Type="text",
        Pushname=push_name,
        Timestamp=timestamp,
        ServerID=0,
        Category="",
        Multicast=False,
        MediaType="",
        Edit="",
    )
    unset = {
        "IsEphemeral": False,
        "IsViewOnce": False,
        "IsViewOnceV2": False,
        "IsViewOnceV2Extension": False,
        "IsDocumentWithCaption": False,
        "IsLottieSticker": False,
        "IsEdit": False,
    }
    return N.Message(Info=info, Message=content, UnavailableRequestID="", RetryCount=0, **{**unset, **flags})


def receipt(
    src: N.MessageSource, ids: list[str], kind: int = N.Receipt.ReceiptType.DELIVERED, timestamp: int = STAMP
) -> N.Receipt:
    return N.Receipt(MessageSource=src, MessageIDs=ids, Timestamp=timestamp, Type=kind)


def group_name(name: str) -> N.GroupName:
    return N.GroupName(Name=name, NameSetAt=STAMP, NameSetBy=jid(CUSTOMER))


def group_topic(topic: str) -> N.GroupTopic:
    return N.GroupTopic(
        Topic=topic, TopicID="T1", TopicSetAt=STAMP, TopicSetBy=jid(CUSTOMER), TopicDeleted=False
    )


def group_change(group: N.JID, **changes: object) -> N.GroupInfoEvent:
    return N.GroupInfoEvent(
        JID=group,
        Notify="",
        Timestamp=STAMP,
        PrevParticipantsVersionID="",
        ParticipantVersionID="",
        JoinReason="",
        **changes,
    )


def participant(
    jid_: N.JID, lid: N.JID, phone: N.JID, *, admin: bool = False, superadmin: bool = False
) -> N.GroupParticipant:
    return N.GroupParticipant(
        JID=jid_, LID=lid, PhoneNumber=phone, IsAdmin=admin, IsSuperAdmin=superadmin, DisplayName="", Error=0
    )


def group_info(group: N.JID, name: str, topic: str, participants: list[N.GroupParticipant]) -> N.GroupInfo:
    return N.GroupInfo(
        OwnerJID=jid(OWN),
        JID=group,
        OwnerPN=jid(OWN),
        GroupName=group_name(name),
        GroupTopic=group_topic(topic),
        GroupLocked=N.GroupLocked(isLocked=False),
        GroupAnnounce=N.GroupAnnounce(IsAnnounce=False, AnnounceVersionID=""),
        GroupEphemeral=N.GroupEphemeral(IsEphemeral=False, DisappearingTimer=0),
        GroupIncognito=N.GroupIncognito(IsIncognito=False),
        GroupParent=N.GroupParent(IsParent=False, DefaultMembershipApprovalMode=""),
        GroupLinkedParent=N.GroupLinkedParent(LinkedParentJID=EMPTY_JID),
        GroupIsDefaultSub=N.GroupIsDefaultSub(IsDefaultSubGroup=False),
        GroupCreated=float(STAMP),
        ParticipantVersionID="",
        Participants=participants,
    )


def media_fields(path: str = "/v/t62.7118-24/12345_67890.enc?ccb=11-4") -> dict[str, object]:
    return {
        "directPath": path,
        "mediaKey": bytes(range(32)),
        "fileEncSHA256": bytes(range(32, 64)),
        "fileSHA256": bytes(range(64, 96)),
        "fileLength": 48213,
    }


def quote(stanza: str, said: str, participant: str = f"{CUSTOMER}@s.whatsapp.net") -> E.ContextInfo:
    return E.ContextInfo(stanzaID=stanza, participant=participant, quotedMessage=E.Message(conversation=said))


def history_message(
    wa_id: str, said: str, *, from_me: bool, chat: str, stamp: int = STAMP
) -> W.WebMessageInfo:
    return W.WebMessageInfo(
        key=C.MessageKey(remoteJID=chat, fromMe=from_me, ID=wa_id),
        message=E.Message(conversation=said),
        messageTimestamp=stamp,
        pushName="" if from_me else "Kunde GmbH",
    )


def history(*conversations: H.Conversation, mappings: tuple[tuple[str, str], ...] = ()) -> N.HistorySync:
    data = H.HistorySync(
        syncType=H.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        conversations=list(conversations),
        phoneNumberToLidMappings=[H.PhoneNumberToLIDMapping(pnJID=pn, lidJID=lid) for pn, lid in mappings],
    )
    return N.HistorySync(Data=data)


def conversation(chat: str, *messages: W.WebMessageInfo, **fields: str) -> H.Conversation:
    return H.Conversation(ID=chat, messages=[H.HistorySyncMsg(message=m) for m in messages], **fields)


__all__ = ["C", "E", "H", "N", "W"]
