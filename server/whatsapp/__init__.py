"""WhatsApp transports behind one Protocol (``server.domain.ports.whatsapp.WhatsAppTransport``): WAHA
(``waha*``) and Meta's Cloud API (``cloud*``), their failures translated into the domain's errors, and webhook
verification and parsing into normalised events (``waha_webhook``, ``cloud_webhook``, ``webhook_bodies``)."""
