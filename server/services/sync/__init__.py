"""The sync engine: one chat's stored WhatsApp messages become "WhatsApp chat" activities in Pipedrive.

It speaks to Pipedrive through ``server.domain.ports.pipedrive.CrmGateway`` (implemented by
``server.pipedrive.sync_adapter``) and to its state through ``server.domain.ports.sync_store.SyncStore``;
the ``sync_chat`` job (``server.jobs.sync``) builds the context and runs it.

A chat flows through the modules in this order (``run`` drives the others):

1. ``run``: takes the chat's lease, folds new messages into dirty days, decides whether the chat is
   logged at all, and calls the steps below when a day is due.
2. ``media``: downloads the chat's attachments that are due (again later on their own schedule) and
   deletes the Files of messages their senders deleted.
3. ``setup``: makes sure the "WhatsApp chat" activity type and the chat-link fields exist.
4. ``person_match``: links the chat to a Person through ``phone_index`` (the company's phones, kept
   locally), creating one when auto-add is on.
5. ``deals``: the chat's Deal or Lead, through ``deal_index`` (the company's open Deals, kept locally).
6. ``activities``: writes each due day as one activity with the day's transcript as its note.
7. ``media`` again: uploads the attachments to the Person's (and the Deal's) Files; then ``deals`` sets
   the "WhatsApp chat link" fields.

Shared by the steps: ``context`` (what one run needs: stores, Pipedrive, transport, clock, caches),
``intents`` (exactly-once creates in Pipedrive), ``owner`` (who owns what the engine creates).
``links`` is the user's side: re-link, pin a Deal or exclude a chat from the panel, then queue its sync.
"""
