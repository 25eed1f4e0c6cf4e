"""Messages as a catch-up brings them from the gateway's history, for the tests of changes that came first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.whatsapp import HistoryBatch, InboundMessage, MessageOrigin, Peer
from server.services.ingest import ingest_events
from tests.sync.world import SyncWorld

NUMBER = "+498963648018"
MARIA = "498963648018@s.whatsapp.net"
MORNING = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


def from_history(
    world: SyncWorld, wa_id: str, body: str, minutes: int, *, from_me: bool = False
) -> InboundMessage:
    """Maria's chat's message ``wa_id``, sent ``minutes`` after 09:00, as the history shows it."""
    peer = Peer(chat_key=MARIA, e164=NUMBER, display_name="Maria")
    return InboundMessage(
        account_id=world.session,
        wa_message_id=wa_id,
        chat=peer,
        sender=peer,
        from_me=from_me,
        sent_at=MORNING + timedelta(minutes=minutes),
        text=body,
        origin=MessageOrigin.CATCHUP,
    )


async def catch_up(world: SyncWorld, *messages: InboundMessage) -> int:
    """Ingest ``messages`` as one history batch; the chat they are new in."""
    batch = HistoryBatch(account_id=world.session, chat_key=None, messages=list(messages))
    outcome = await ingest_events([batch], transport="waha", store=world.inbox)
    [(_, chat)] = {*outcome.new_messages}
    return chat
