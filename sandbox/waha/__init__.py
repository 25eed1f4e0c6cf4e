"""A WAHA-compatible WhatsApp gateway with a simulated phone."""
