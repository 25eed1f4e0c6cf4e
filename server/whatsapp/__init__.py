"""WhatsApp transports behind one Protocol, and webhook verification."""
