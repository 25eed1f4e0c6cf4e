"""WaPipe: WhatsApp conversations logged into Pipedrive, replies sent from Pipedrive.

Owns the application. Its layers, innermost first: ``domain`` (pure values, rules, errors and ports),
``services`` (use cases over the ports), the adapters ``storage``, ``pipedrive``, ``whatsapp`` and ``jobs``,
and ``web``, the web process's composition root. Beside them: ``settings`` (the one place the environment is
read), ``cli`` (the ``wapipe`` command), ``demo`` and ``demo_bootstrap`` (the embedded demo), ``transports``
(the WhatsApp transports built from the settings), ``crypto`` (tokens at rest) and ``logs``.
docs/architecture.md draws the layers and the import rules import-linter holds.
"""
