"""neonize's connection, pairing, QR and group events → WaPipe's session states, linking codes and groups,
on neonize's real protobuf types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.errors import InvalidInput, MalformedEvent
from server.domain.session_reasons import REASONS, not_connected_reason
from server.domain.whatsapp import (
    GroupInfo,
    GroupMember,
    IdentityLearned,
    Peer,
    SessionChanged,
    SessionStatus,
)
from server.whatsapp.embedded_events import translate
from server.whatsapp.embedded_results import Translated
from server.whatsapp.qr import MAX_QR_VALUE, qr_png
from tests.qr_reader import qr_text
from tests.whatsapp.neonize_events import (
    ACCOUNT,
    CUSTOMER,
    CUSTOMER_LID,
    EMPTY_JID,
    GROUP,
    OWN,
    N,
    group_change,
    group_info,
    group_name,
    group_topic,
    jid,
    participant,
)

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# A linking value as whatsmeow's QR event gives it: ref, noise key, identity key, advertising secret.
LINKING_VALUE = (
    "2@Qm9ndXNSZWZlcmVuY2VGb3JUZXN0aW5nT25seUFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFla,"
    "ZmFrZU5vaXNlS2V5MDEyMzQ1Njc4OWFiY2RlZg==,ZmFrZUlkZW50aXR5S2V5MDEyMzQ1Njc4OWFi,"
    "ZmFrZUFkdlNlY3JldDAxMjM0NTY3ODlhYmNk"
)


def run(event: object, me: Peer | None = None, whole: bool = True) -> Translated:
    """Translate an event; a ``whole`` one has every field neonize's types require (whatsmeow fills them)."""
    if whole:
        assert event.IsInitialized(), event.FindInitializationErrors()
    return translate(event, account_id=ACCOUNT, received_at=AT, me=me)


def only_change(event: object) -> SessionChanged:
    (changed,) = run(event).events
    assert isinstance(changed, SessionChanged)
    return changed


def failure(reason: int) -> N.ConnectFailure:
    return N.ConnectFailure(Reason=reason, Message="", Raw=N.Node(Tag="failure"))


# ---- QR codes --------------------------------------------------------------------------------------------


def test_a_qr_event_asks_for_pairing_and_its_code_draws_a_qr_that_reads_back() -> None:
    result = run(N.QR(Codes=[LINKING_VALUE, LINKING_VALUE.replace("2@Qm9", "2@Xy1")]))
    assert result.events == (SessionChanged(ACCOUNT, SessionStatus.NEEDS_PAIRING, AT, "SCAN_QR_CODE"),)
    assert len(result.qr_codes) == 2
    assert qr_text(qr_png(result.qr_codes[0])) == LINKING_VALUE


def test_a_qr_event_without_codes_is_malformed() -> None:
    with pytest.raises(MalformedEvent):
        run(N.QR(Codes=[]))


@pytest.mark.parametrize("value", ["", "   ", "x" * (MAX_QR_VALUE + 1)])
def test_an_empty_or_oversized_value_is_not_drawn(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        qr_png(value)
    assert refused.value.reason == "invalid_qr_value"


# ---- connection states -----------------------------------------------------------------------------------


def test_a_successful_pairing_names_our_number_and_waits_for_connected() -> None:
    changed = only_change(
        N.PairStatus(
            ID=jid(OWN, device=7), BusinessName="Muster GmbH", Platform="android", Status=N.PairStatus.SUCCESS
        )
    )
    assert (changed.status, changed.detail) == (SessionStatus.STARTING, "PAIR_SUCCESS")
    assert changed.me == Peer(
        chat_key=f"{OWN}@s.whatsapp.net", e164="+4930901820", display_name="Muster GmbH"
    )


def test_a_failed_pairing_is_a_failure() -> None:
    changed = only_change(
        N.PairStatus(ID=EMPTY_JID, BusinessName="", Platform="", Status=N.PairStatus.ERROR, Error="timed out")
    )
    assert (changed.status, changed.detail) == (SessionStatus.FAILED, "PAIRING_FAILED")


@pytest.mark.parametrize(
    ("event", "status", "detail"),
    [
        (N.Connected(status=True), SessionStatus.CONNECTED, "CONNECTED"),
        (N.KeepAliveRestored(), SessionStatus.CONNECTED, "KEEPALIVE_RESTORED"),
        (N.Disconnected(status=True), SessionStatus.DISCONNECTED, "DISCONNECTED"),
        (
            N.KeepAliveTimeout(ErrorCount=3, LastSuccess=1_765_000_000),
            SessionStatus.DISCONNECTED,
            "KEEPALIVE_TIMEOUT",
        ),
        (
            N.StreamError(Code="515", Raw=N.Node(Tag="stream:error")),
            SessionStatus.DISCONNECTED,
            "STREAM_ERROR",
        ),
        (N.StreamReplaced(), SessionStatus.FAILED, "STREAM_REPLACED"),
        (N.ClientOutdated(), SessionStatus.FAILED, "CLIENT_OUTDATED"),
        (
            N.LoggedOut(OnConnect=False, Reason=N.LOGGED_OUT),
            SessionStatus.LOGGED_OUT,
            "LOGGED_OUT_LOGGED_OUT",
        ),
        (
            N.LoggedOut(OnConnect=True, Reason=N.MAIN_DEVICE_GONE),
            SessionStatus.LOGGED_OUT,
            "LOGGED_OUT_MAIN_DEVICE_GONE",
        ),
        (N.LoggedOut(OnConnect=True, Reason=N.TEMP_BANNED), SessionStatus.BANNED, "LOGGED_OUT_TEMP_BANNED"),
        (
            N.TemporaryBan(Code=N.TemporaryBan.SEND_TO_TOO_MANY_PEOPLE, Expire=3600),
            SessionStatus.BANNED,
            "TEMPORARY_BAN_SEND_TO_TOO_MANY_PEOPLE",
        ),
        (
            failure(N.TEMP_BANNED),
            SessionStatus.BANNED,
            "CONNECT_FAILURE_TEMP_BANNED",
        ),
        (failure(N.LOGGED_OUT), SessionStatus.LOGGED_OUT, "CONNECT_FAILURE_LOGGED_OUT"),
        (failure(N.CLIENT_OUTDATED), SessionStatus.FAILED, "CONNECT_FAILURE_CLIENT_OUTDATED"),
        (
            failure(N.SERVICE_UNAVAILABLE),
            SessionStatus.DISCONNECTED,
            "CONNECT_FAILURE_SERVICE_UNAVAILABLE",
        ),
    ],
)
def test_connection_events_map_to_the_states_the_numbers_page_shows(
    event: object, status: SessionStatus, detail: str
) -> None:
    changed = only_change(event)
    assert (changed.status, changed.detail, changed.at) == (status, detail, AT)
    # The page shows the status's own translated reason, never the raw event name.
    assert not_connected_reason(changed.status.value, changed.detail or "") == REASONS[status.value]


def test_connected_keeps_the_number_the_transport_knows() -> None:
    me = Peer(chat_key=f"{OWN}@s.whatsapp.net", e164="+4930901820")
    (changed,) = run(N.Connected(status=True), me=me).events
    assert isinstance(changed, SessionChanged) and changed.me == me


# ---- groups ----------------------------------------------------------------------------------------------


def test_a_group_rename_gives_its_new_subject() -> None:
    event = group_change(jid(GROUP, "g.us"), Sender=jid(CUSTOMER), Name=group_name(" Einkauf 2026 "))
    assert run(event).groups == (
        GroupInfo(
            peer=Peer(chat_key=f"{GROUP}@g.us", is_group=True, display_name="Einkauf 2026"),
            subject="Einkauf 2026",
        ),
    )


def test_a_new_group_description_is_kept_and_other_changes_are_skipped() -> None:
    topic = group_change(jid(GROUP, "g.us"), Topic=group_topic("Alles zum Einkauf"))
    joined = group_change(jid(GROUP, "g.us"), Join=[jid(CUSTOMER)])
    (found,) = run(topic).groups
    assert (found.subject, found.description) == (None, "Alles zum Einkauf")
    assert [s.reason for s in run(joined).skipped] == ["group_change_not_kept"]


def test_joining_a_group_gives_its_subject_members_and_their_phone_numbers() -> None:
    members = [
        participant(jid(CUSTOMER_LID, "lid"), jid(CUSTOMER_LID, "lid"), jid(CUSTOMER), admin=True),
        participant(jid(OWN), EMPTY_JID, jid(OWN), admin=True, superadmin=True),
    ]
    info = group_info(jid(GROUP, "g.us"), "Einkauf", "Bestellungen", members)
    result = run(N.JoinedGroup(Reason="invite", Type="new", CreateKey="", GroupInfo=info))
    (group,) = result.groups
    assert (group.peer.chat_key, group.subject, group.description) == (
        f"{GROUP}@g.us",
        "Einkauf",
        "Bestellungen",
    )
    assert group.members == (
        GroupMember(
            Peer(chat_key=f"{CUSTOMER}@s.whatsapp.net", e164="+4915112345678", lid=f"{CUSTOMER_LID}@lid"),
            "admin",
        ),
        GroupMember(Peer(chat_key=f"{OWN}@s.whatsapp.net", e164="+4930901820"), "superadmin"),
    )
    assert result.events == (
        IdentityLearned(ACCOUNT, f"{CUSTOMER_LID}@lid", f"{CUSTOMER}@s.whatsapp.net", "+4915112345678"),
    )


def test_a_group_event_without_a_group_is_malformed() -> None:
    with pytest.raises(MalformedEvent):
        run(group_change(jid(CUSTOMER), Name=group_name("x")))
    with pytest.raises(MalformedEvent):
        run(N.JoinedGroup(Reason="invite"), whole=False)
