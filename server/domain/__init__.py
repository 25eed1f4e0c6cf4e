"""Pure core: the values, rules and ports every other layer works through.

Owns the domain records (``models``, ``sync``, ``whatsapp``), the one error tree (``errors``), the ports
(``ports``: one module per side, Pipedrive, WhatsApp, storage, the queue), phone numbers and matching,
calendar days, transcripts, message kinds, and the clock. Standard library and phonenumbers only: no other
layer, no I/O.
"""
