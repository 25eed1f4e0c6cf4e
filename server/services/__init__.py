"""Use cases over the domain's ports: ingest, catch-up after a gap (``catch_up``), the sync engine
(``sync``), sending (``send`` queues a request, ``deliver`` sends it), linking numbers, re-links and
re-checks, the matching preview, and following Person changes in Pipedrive.

Imports ``server.domain`` only: storage, Pipedrive and WhatsApp arrive as ports. Every service is safe to run
twice.
"""
