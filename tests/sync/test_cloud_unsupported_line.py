"""A GIF the Cloud API does not deliver reaches the day's transcript as a line that says so, escaped."""

from __future__ import annotations

from sandbox.pipedrive.seed import seed_person
from server.services.ingest import ingest_events
from server.whatsapp.cloud_webhook import events_from_cloud_body
from tests.sync.world import SyncWorld
from tests.whatsapp.test_cloud_unsupported import AT, unsupported


async def test_an_undelivered_gif_is_a_line_in_the_days_activity(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 176 12345678"])
    body = unsupported("gif", title="<b>Message type unknown</b>", phone_number_id=world.session)
    outcome = await ingest_events(
        events_from_cloud_body(body, received_at=AT), transport="waha", store=world.inbox
    )
    [(_, chat)] = outcome.new_messages
    await world.sync(chat)
    [activity] = world.activities()
    assert (
        "10:00 ← <b>Maria</b>: GIF: not delivered by the WhatsApp Cloud API "
        "(&lt;b&gt;Message type unknown&lt;/b&gt;); open it on the phone</p>"
    ) in activity["note"]
