"""The customers the simulated phone knows, and the chat history a newly linked number already has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.waha.media import MINIMAL_PDF
from sandbox.waha.models import Chat, Group, Media, Member, Message, Session
from sandbox.waha.png import sample_picture

if TYPE_CHECKING:
    from sandbox.waha.state import SandboxState

# (name, phone digits as WhatsApp knows the account, LID digits)
CUSTOMERS = [
    ("Ana Souza", "5511987654321", "204918302117435"),
    ("Carlos Méndez", "5215512345678", "118273645501928"),
    ("Lucía Fernández", "5491123456789", "301928374650192"),
    ("Jonas Weber", "4915112345678", "219384756102938"),
    ("Priya Nair", "447911123456", "155512340987654"),
    ("Marcos Lima", "552198887777", "170023948576123"),  # Brazilian account from before the ninth digit
]
HIDDEN_MEMBER = Member("Sam", None, "254000825925805")
GROUP_SUBJECT = "Acme · Purchasing"
CONTACT_NAMES = {phone: name for name, phone, _ in CUSTOMERS}
CONTACT_LIDS = {phone: lid for _, phone, lid in CUSTOMERS}
REGISTERED_NUMBERS = frozenset(CONTACT_NAMES)

HOUR = 3600


def _author_name(jid: str) -> str:
    user = jid.split("@", 1)[0]
    return CONTACT_NAMES.get(user) or (HIDDEN_MEMBER.name if user == HIDDEN_MEMBER.lid else "")


def _add(
    state: SandboxState,
    session: Session,
    chat: Chat,
    age_s: int,
    body: str,
    *,
    author: str | None = None,
    kind: str = "text",
    media: tuple[str, str, bytes] | None = None,
    ack: int = 3,
) -> Message:
    me = session.me_jid or ""
    from_me = author is None
    sender = me if from_me else (author or "")
    message = Message(
        raw_id=state.ids.message_id(),
        chat_id=chat.id,
        from_me=from_me,
        sender=sender,
        timestamp=state.clock.now_s() - age_s,
        body=body,
        kind=kind,
        participant=sender if chat.is_group else None,
        ack=ack if from_me else 2,
        source="app" if from_me else None,
        push_name=session.push_name if from_me else _author_name(sender),
    )
    if media is not None:
        mimetype, filename, data = media
        ext = {"image/png": "png", "application/pdf": "pdf"}.get(mimetype, "bin")
        message.media = Media(f"{message.id}.{ext}", mimetype, data, filename)
    chat.messages.append(message)
    return message


def seed_history(state: SandboxState, session: Session) -> None:
    """Two 1:1 chats and a group, spread over the last two days, with photos, a PDF and a hidden member."""
    ana_name, ana, ana_lid = CUSTOMERS[0]
    jonas_name, jonas, jonas_lid = CUSTOMERS[3]
    chat = session.chats.setdefault(f"{ana}@c.us", Chat(f"{ana}@c.us", ana_name))
    _add(state, session, chat, 47 * HOUR, "Olá! Vocês fazem entrega em Campinas?", author=f"{ana}@c.us")
    _add(state, session, chat, 46 * HOUR, "Sim, entregamos em toda a região.")
    photo = ("image/png", "catalogo.png", sample_picture(hue=40))
    _add(state, session, chat, 30 * HOUR, "Esse modelo aqui", author=f"{ana}@c.us", kind="image", media=photo)
    _add(state, session, chat, 29 * HOUR, "Perfeito, te mando o orçamento amanhã.")

    chat = session.chats.setdefault(f"{jonas}@c.us", Chat(f"{jonas}@c.us", jonas_name))
    _add(state, session, chat, 20 * HOUR, "Hi, could you send the updated quote?", author=f"{jonas}@c.us")
    quote = ("application/pdf", "Quote-2026-031.pdf", MINIMAL_PDF)
    _add(state, session, chat, 19 * HOUR, "Here it is", kind="document", media=quote, ack=2)

    group_id = state.ids.group_id()
    members = [
        Member(session.push_name, session.phone, session.own_lid, admin=True),
        Member(ana_name, ana, ana_lid),
        Member(jonas_name, jonas, jonas_lid),
        HIDDEN_MEMBER,
    ]
    session.groups[group_id] = Group(
        group_id, GROUP_SUBJECT, members, created=state.clock.now_s() - 90 * 24 * HOUR
    )
    chat = session.chats.setdefault(group_id, Chat(group_id, GROUP_SUBJECT))
    _add(state, session, chat, 5 * HOUR, "Meeting moved to Thursday", author=f"{jonas}@c.us")
    _add(state, session, chat, 4 * HOUR, "Works for me", author=f"{HIDDEN_MEMBER.lid}@lid")
    _add(state, session, chat, 3 * HOUR, "Thursday it is.")

    session.lids[ana_lid] = ana
    session.lids[jonas_lid] = jonas
    session.lids.setdefault(HIDDEN_MEMBER.lid or "", None)
    for contact, lid in ((ana, ana_lid), (jonas, jonas_lid)):
        for message in session.chats[f"{contact}@c.us"].messages:
            if message.from_me:
                message.recipient_alt = f"{lid}@lid"
            else:
                message.sender_alt = f"{lid}@lid"
