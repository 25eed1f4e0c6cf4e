"""Faithful local stand-ins for Pipedrive (``pipedrive``) and WAHA (``waha``), used by the tests and
``wapipe demo``. They import nothing of WaPipe's: they are the other side of the wire."""
