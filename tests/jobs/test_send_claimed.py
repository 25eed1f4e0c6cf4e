"""A Cloud API send whose answer was lost (timeout after Meta took it) is not sent twice: the status
webhook carrying our client_ref names the message, and the retry stores that one instead of sending."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.jobs.test_send_mutants import ACCOUNT, NOW, entry, world

CLOUD = replace(ACCOUNT, transport="cloud", session_name="109876543210")


async def test_a_send_a_status_webhook_named_is_stored_and_not_sent_again() -> None:
    started = NOW - timedelta(minutes=2)
    row = entry(status="sending", attempts=1, attempt_started_at=started, wa_message_id="wamid.HBgN1")
    w = world(row, account=CLOUD)
    cloud = w.deps.transports["cloud"]
    assert await w.run() == "sent wamid.HBgN1"
    assert cloud.sent == [] and cloud.looked == []  # neither sent again nor looked for
    assert w.outbox.calls == [("mark_sent", 17, "wamid.HBgN1", "109876543210/out/wamid.HBgN1")]
    [(account_id, _, stored)] = w.inbox.messages
    assert account_id == CLOUD.id
    assert (stored.wa_message_id, stored.from_me, stored.text) == ("wamid.HBgN1", True, "Hallo Anna")
    assert stored.chat.chat_key == "4917655501234@s.whatsapp.net"
    assert stored.sent_at == started
    assert stored.transport_id == "wamid.HBgN1"  # the Cloud API's message id is its transport id


async def test_on_waha_a_named_send_carries_no_cloud_transport_id() -> None:
    started = NOW - timedelta(minutes=2)
    row = entry(status="sending", attempts=1, attempt_started_at=started, wa_message_id="3EB0NAMED")
    w = world(row)
    assert await w.run() == "sent 3EB0NAMED"
    assert w.transport.sent == [] and w.transport.looked == []
    assert w.outbox.calls == [("mark_sent", 17, "3EB0NAMED", "wp-acme/out/3EB0NAMED")]
    [(_, _, stored)] = w.inbox.messages
    assert stored.transport_id is None and stored.chat.chat_key == "4917655501234@s.whatsapp.net"


async def test_a_queued_row_with_an_id_is_not_taken_for_sent() -> None:
    """Only an attempt that started can have gone out."""
    w = world(entry(status="queued", wa_message_id="wamid.HBgN1"), account=CLOUD)
    cloud = w.deps.transports["cloud"]
    assert await w.run() == "sent 3EB0ABC"
    assert len(cloud.sent) == 1
