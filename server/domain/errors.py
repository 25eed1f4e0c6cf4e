"""The one error tree. Adapters translate library errors into these at their boundary.

Every error carries a stable ``reason`` (snake_case) that pages, logs and tests rely on, and a message
that tells a person what to do.
"""

from __future__ import annotations


class WaPipeError(Exception):
    """Base of every error WaPipe raises on purpose."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.reason


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

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


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
