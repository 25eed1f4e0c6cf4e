"""Ports: the Protocols services depend on; adapters implement them. One module per side:

- ``pipedrive``: the company's Pipedrive as the sync engine uses it (``CrmGateway``) and the admin
  installation's client for a company (``PipedriveForCompany``); implemented in ``server.pipedrive``.
- ``whatsapp``: a transport that reaches WhatsApp (``WhatsAppTransport``); implemented in ``server.whatsapp``.
- ``storage``: the database stores and the media files on disk; implemented in ``server.storage``.
- ``sync_store``: the sync engine's state (``SyncStore``) and the stored phone index; implemented in
  ``server.storage``.
- ``queue``: the job queue (``JobQueue``); implemented in ``server.jobs`` (arq, in-process).
"""
