"""Starting a chat with a number nobody has written from WaPipe yet (the chat view's "New chat"): checked
as the panel checks a send (``server.services.send``: the number read in the chosen country, an empty or
too long message, a From number that cannot send, each refused by name), and the number asked of the From
number's gateway before anything is queued; then the message goes through the outbox and the chat exists
in the inbox at once, so the chat view can open it while the message is on its way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.domain.clock import Clock
from server.domain.errors import InvalidInput
from server.domain.jids import phone_chat_key
from server.domain.ports.storage import AccountStore, InboxStore
from server.domain.ports.whatsapp import WhatsAppTransport
from server.domain.text import Text
from server.domain.whatsapp import Peer
from server.services.send import SendRequest, SendService, confirm_on_whatsapp, recipient


@dataclass(frozen=True, slots=True)
class NewChat:
    """What the person typed: the number (in ``region`` when it has no country code), From, the message."""

    to: str
    region: str | None
    account_id: int | None
    text: str
    client_ref: str


@dataclass(frozen=True)
class StartChat:
    accounts: AccountStore
    send: SendService
    inbox: InboxStore
    transports: Mapping[str, WhatsAppTransport]
    clock: Clock

    async def start(self, company_id: int, user_id: int, new: NewChat) -> int:
        """The new chat's id, its first message queued. Raises ``InvalidInput`` (a From number not the
        company's, a number or message the send refuses), ``NotFound``, ``NumberNotOnWhatsApp``."""
        account = await self.accounts.get(company_id, new.account_id) if new.account_id is not None else None
        if account is None:
            raise InvalidInput(Text("Choose the WhatsApp number to send from"), reason="unknown_from_number")
        e164 = recipient(new.to, new.region)
        await confirm_on_whatsapp(self.transports, account, e164, of_person=False)
        request = SendRequest(
            client_ref=new.client_ref, account_id=account.id, to=new.to, text=new.text, region=new.region
        )
        entry, _ = await self.send.request(company_id, user_id, request)
        peer = Peer(phone_chat_key(entry.to_chat), e164=entry.to_chat)
        return await self.inbox.upsert_chat(account.id, peer, self.clock.now())
