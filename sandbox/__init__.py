"""Faithful local stand-ins for Pipedrive and WAHA, used by tests and the demo."""
