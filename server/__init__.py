"""WaPipe: WhatsApp conversations logged into Pipedrive, replies sent from Pipedrive."""
