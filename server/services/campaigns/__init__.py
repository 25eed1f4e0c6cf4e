"""Campaigns: one message to each Person of a Pipedrive selection or saved filter, paced per sending
number, skipping who must not be written to, sent at most once per recipient.

``service`` is the use cases the pages call (``Campaigns``: create, preview, start, pause, resume, cancel,
progress, the results CSV, stop words); ``planning`` decides each recipient's number, sender and skip;
``approved`` checks a campaign sent as a Meta-approved template and previews it per recipient;
``tick`` is one run of the sending loop (the ``campaign_tick`` job calls it); ``opt_out`` turns an inbound
stop word into an opt-out, and ``waiting`` one from a chat known only by a LID, once its number is known.
Everything reaches storage, Pipedrive and WhatsApp through ports
(``server.domain.ports.campaigns``, ``.recipients``, ``.storage``, ``.whatsapp``, ``.queue``).
"""

from __future__ import annotations

from server.services.campaigns.service import CampaignPorts, Campaigns

__all__ = ["CampaignPorts", "Campaigns"]
