"""The one place WaPipe reads its configuration (environment variables prefixed ``WAPIPE_``).

Only composition roots (``server.web``, ``server.cli``, the worker settings) import this module.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that mean "nobody set this yet": refused outside demo and test mode.
PLACEHOLDERS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "xxx", "todo", "demo"})

# Demo/test stand-ins for the secrets, so the embedded default runs with no set-up.
DEMO_SECRETS = {
    "secret_key": "demo-secret-key-not-for-production",
    # A valid Fernet key (32 zero bytes, urlsafe base64) used only in demo and test mode.
    "encryption_keys": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "pipedrive_client_secret": "demo-client-secret",
    "pipedrive_jwt_secret": "demo-jwt-secret-for-the-sandbox-only",
    "waha_api_key": "demo-waha-api-key",
    "waha_webhook_hmac_key": "demo-waha-hmac-key",
}


class Mode(StrEnum):
    PRODUCTION = "production"
    DEMO = "demo"
    TEST = "test"


class SettingsError(ValueError):
    """Configuration that cannot run; the message names the variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WAPIPE_", extra="ignore", frozen=True)

    mode: Mode = Mode.PRODUCTION
    database_url: str = ""
    redis_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    secret_key: SecretStr = SecretStr("")
    encryption_keys: SecretStr = SecretStr("")

    pipedrive_client_id: str = ""
    pipedrive_client_secret: SecretStr = SecretStr("")
    pipedrive_jwt_secret: SecretStr = SecretStr("")
    pipedrive_oauth_url: str = "https://oauth.pipedrive.com"
    pipedrive_api_url: str = "https://api.pipedrive.com"

    waha_url: str = "http://127.0.0.1:3000"
    waha_api_key: SecretStr = SecretStr("")
    waha_webhook_hmac_key: SecretStr = SecretStr("")
    # How old, in seconds, the event of a signed WAHA delivery may be (WAHA's retries keep the event's
    # time). Unset: the span of the retries WaPipe asks WAHA for, about 43.7 hours.
    waha_webhook_horizon: float | None = Field(default=None, ge=60, le=30 * 86_400)

    # Meta's WhatsApp Cloud API: optional, for teams with a WhatsApp Business Account.
    cloud_app_secret: SecretStr = SecretStr("")
    cloud_verify_token: SecretStr = SecretStr("")
    cloud_access_token: SecretStr = SecretStr("")
    # The WhatsApp Business Account whose approved message templates Cloud numbers offer (its numeric id).
    cloud_business_account_id: str = Field(default="", pattern=r"^[0-9]{0,32}$")

    # Days a company's data is kept after its last installation is uninstalled (reinstalling cancels it).
    data_retention_days: int = Field(default=30, ge=1)

    # Waits, in seconds. The defaults are production's; tests run on a clock they move instead of waiting.
    sync_burst_window: float = Field(default=3.5, ge=0, le=60)  # a chat's writes wait for the rest of a burst
    retry_base: float = Field(default=2.0, gt=0, le=600)  # a transient failure's first retry; doubles per try
    busy_retry: float = Field(default=1.0, gt=0, le=600)  # another worker holds the chat: look again after
    sync_lease: float = Field(default=120.0, ge=10, le=3600)  # how long a sync run holds its chat at most
    catch_up_every: float = Field(default=300.0, ge=60, le=86_400)  # a connected number's history is re-read
    sweep_after: float = Field(default=60.0, ge=1, le=86_400)  # a stored webhook not processed is re-queued
    campaign_poll: float = Field(
        default=30.0, ge=0.1, le=3600
    )  # a campaign waiting on its outbox looks again
    campaign_stale: float = Field(
        default=180.0, ge=10, le=86_400
    )  # a campaign run this late is started again
    job_poll: float = Field(default=0.05, gt=0, le=5)  # how often the in-process runner looks for due jobs
    conversation_poll: float = Field(default=3.0, ge=0.2, le=60)  # an open chat asks for new messages
    progress_poll: float = Field(default=2.0, ge=0.2, le=60)  # a page waiting for set-up or pairing asks
    # An attachment whose download fails is tried again after this, then twice as long each time (the
    # defaults fit in WAHA's 180 s file lifetime: 5, 15, 35, 75, 155 s), ``media_attempts`` times in all.
    media_retry_base: float = Field(default=5.0, gt=0, le=3600)
    media_attempts: int = Field(default=6, ge=1, le=12)

    # How many numbers one user may have waiting for their QR code (each holds a session on the gateway).
    max_pending_pairings: int = Field(default=3, ge=1, le=50)

    media_dir: Path = Path("var/media")
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    log_format: str = "json"

    @model_validator(mode="after")
    def _secrets_are_real(self) -> Settings:
        if self.mode is Mode.PRODUCTION:
            for field in DEMO_SECRETS:
                value = getattr(self, field).get_secret_value()
                if value.strip().lower() in PLACEHOLDERS or value in DEMO_SECRETS.values():
                    raise SettingsError(
                        f"WAPIPE_{field.upper()} is missing or a placeholder; set it to a real secret "
                        f"(or run with WAPIPE_MODE=demo for the embedded demo)"
                    )
            if not self.pipedrive_client_id:
                raise SettingsError(
                    "WAPIPE_PIPEDRIVE_CLIENT_ID is missing; copy it from Pipedrive's Developer Hub"
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.mode is Mode.PRODUCTION

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under ``var_dir``."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{self.var_dir / 'wapipe.db'}"

    def secret_values(self) -> list[str]:
        """Every configured secret, so logs can redact them wherever they appear."""
        names = [*DEMO_SECRETS, "cloud_app_secret", "cloud_verify_token", "cloud_access_token"]
        secrets = [getattr(self, name).get_secret_value() for name in names]
        secrets += [key for key in self.encryption_keys.get_secret_value().split(",")]
        return [s for s in secrets if len(s) >= 6]


def normalise_database_url(url: str) -> str:
    """Point plain ``postgres://`` URLs (as hosting platforms give them) at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(**overrides: object) -> Settings:
    """Read the environment, filling demo/test stand-ins for unset secrets in those modes."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.mode is Mode.PRODUCTION:
        return settings
    filled: dict[str, object] = {}
    for field, stand_in in DEMO_SECRETS.items():
        if not getattr(settings, field).get_secret_value():
            filled[field] = SecretStr(stand_in)
    if not settings.pipedrive_client_id:
        filled["pipedrive_client_id"] = "wapipe-demo-client"
    return settings.model_copy(update=filled) if filled else settings
