"""At start: say in the log, by name, when a WhatsApp gateway is set up so that no number can work."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from server.domain.errors import ConfigurationError, WaPipeError
from server.domain.ports.whatsapp import WhatsAppTransport

log = logging.getLogger(__name__)


async def check_gateways(transports: Mapping[str, WhatsAppTransport]) -> list[ConfigurationError]:
    """Each transport's refusal, logged as an error with its reason and what to change. A gateway that
    cannot be reached now is only a warning: it may start after WaPipe."""
    refusals: list[ConfigurationError] = []
    for kind, transport in transports.items():
        try:
            await transport.check_ready()
        except ConfigurationError as error:
            log.error(
                "%s cannot link or keep numbers: %s",
                kind,
                error.message,
                extra={"reason": error.reason, "transport": kind},
            )
            refusals.append(error)
        except WaPipeError as error:
            log.warning(
                "%s could not be checked at start: %s",
                kind,
                error.message,
                extra={"reason": error.reason, "transport": kind},
            )
    return refusals
