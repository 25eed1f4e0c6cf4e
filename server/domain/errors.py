"""The one error tree. Adapters translate library errors into these at their boundary.

Every error carries a stable ``reason`` (snake_case) that pages, logs and tests rely on, and a message
that tells a person what to do: a ``Text`` where a page shows it (``text``, in the reader's language), its
English in ``message`` and ``str()`` (logs, JSON answers, rows stored).
"""

from __future__ import annotations

from server.domain.text import Text


class WaPipeError(Exception):
    """Base of every error WaPipe raises on purpose."""

    reason = "error"

    def __init__(self, message: str | Text, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.reason

    @property
    def text(self) -> Text | str:
        """The message as a page shows it: a ``Text`` renders in the reader's language."""
        first = self.args[0] if self.args else self.reason
        return first if isinstance(first, Text) else str(first)


class ConfigurationError(WaPipeError):
    reason = "bad_configuration"


class StorageError(WaPipeError):
    reason = "storage_failed"


class NotMigrated(StorageError):
    reason = "database_not_migrated"


class InvalidInput(WaPipeError):
    """Input rejected at a boundary (form, webhook, CLI); nothing was stored."""

    reason = "invalid_input"


class Transient(WaPipeError):
    """A failure worth retrying (timeouts, 5xx, 429). ``retry_after`` in seconds when known."""

    reason = "transient"

    def __init__(
        self, message: str | Text, *, reason: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class StorageBusy(StorageError, Transient):
    """The database could not take the statement just now (a lock wait ran out, a deadlock or
    serialization failure, a lost connection): trying again is the fix. Storage raises it in place of the
    driver's error, so callers retry without knowing the database library."""

    reason = "storage_busy"


class Permanent(WaPipeError):
    """A failure retrying cannot fix; shown to admins, never swallowed."""

    reason = "permanent"


class NotAuthenticated(InvalidInput):
    """A caller could not prove who it is (panel token, OAuth state, OAuth code)."""

    reason = "not_authenticated"


class NotFound(Permanent):
    """The upstream record does not exist (any more)."""

    reason = "not_found"


class Unauthorized(Permanent):
    """The upstream rejected our credentials even after a refresh."""

    reason = "unauthorized"


class NeedsReauth(Permanent):
    """The installation's refresh token no longer works; only a fresh install (re-authorisation) fixes it."""

    reason = "needs_reauth"


class BudgetExhausted(Transient):
    """The company's daily API budget is spent; work must be deferred until it resets, not retried now."""

    reason = "budget_exhausted"


# --- WhatsApp transports -------------------------------------------------------------------------------


class BadSignature(NotAuthenticated):
    """A webhook whose signature is missing or does not match its raw body; nothing in it is trusted."""

    reason = "bad_signature"


class StaleWebhook(NotAuthenticated):
    """A signed webhook whose timestamp is missing or outside the accepted window (replay, bad clock)."""

    reason = "stale_webhook"


class MalformedWebhook(InvalidInput):
    """A correctly signed webhook whose body is not the JSON shape the transport documents."""

    reason = "malformed_webhook"


class MalformedEvent(MalformedWebhook):
    """An event from the embedded WhatsApp transport (neonize/whatsmeow) that lacks what it must carry."""

    reason = "malformed_event"


class InvalidChatId(InvalidInput):
    """Text that is not a WhatsApp chat id, phone number or message id."""

    reason = "invalid_chat_id"


class InvalidOutboundMessage(InvalidInput):
    """An outgoing message that cannot be sent as built (no content, two kinds of content, bad media)."""

    reason = "invalid_outbound_message"


class SessionDisconnected(Permanent):
    """The WhatsApp session is not connected (needs a QR scan, logged out, failed): reconnect it."""

    reason = "session_disconnected"


class NumberNotOnWhatsApp(Permanent):
    """The phone number has no WhatsApp account."""

    reason = "number_not_on_whatsapp"


class MediaExpired(NotFound):
    """The media file is gone from the gateway or WhatsApp (lifetime over, URL expired)."""

    reason = "media_expired"


class MediaTooLarge(Permanent):
    """A media file exceeds the configured download cap."""

    reason = "media_too_large"


class MediaOriginRefused(Permanent):
    """A media URL points somewhere other than the configured gateway; it is never fetched."""

    reason = "media_origin_refused"


class OutsideMessagingWindow(Permanent):
    """Cloud API: free-form messages are only allowed within 24 hours of the customer's last message."""

    reason = "outside_24h_window"


class UnsupportedByTransport(Permanent):
    """The connected WhatsApp transport cannot do this (e.g. chat history on the Cloud API)."""

    reason = "not_supported_by_transport"


class GatewayUnavailable(Transient):
    """The WhatsApp gateway did not answer usefully (connection refused, timeout, 5xx).

    ``maybe_sent`` is true when the request may have reached WhatsApp before the failure (a send that timed
    out after it was written): the caller must look for the message before sending it again.
    """

    reason = "gateway_unavailable"

    def __init__(
        self,
        message: str | Text,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message, reason=reason, retry_after=retry_after)
        self.maybe_sent = maybe_sent


# --- installations -------------------------------------------------------------------------------------


class NotInstalled(Permanent):
    """Nobody (or not this user) has installed WaPipe in the Pipedrive company, or they uninstalled it."""

    reason = "not_installed"
