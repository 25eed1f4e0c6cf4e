"""The one place WaPipe reads its configuration (environment variables prefixed ``WAPIPE_``).

Only composition roots (``server.web``, ``server.cli``, the worker settings) import this module.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that mean "nobody set this yet": refused outside demo and test mode.
PLACEHOLDERS = frozenset({"", "change-me", "changeme", "secret", "placeholder", "xxx", "todo", "demo"})

MIN_METRICS_TOKEN = 32  # a bearer token guessed by nobody: 32 random characters or more
# S3's rule for bucket names (3 to 63 lowercase letters, digits, dots and hyphens, a letter or digit at
# either end), and the characters S3 calls safe in a key, for the prefix.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]{0,200}")
_REGION = re.compile(r"[a-z0-9-]{1,32}")

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


class WhatsAppWeb(StrEnum):
    """Where WhatsApp Web sessions run (``WAPIPE_WHATSAPP``)."""

    WAHA = "waha"
    EMBEDDED = "embedded"


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

    # How WhatsApp Web numbers are reached: "waha" (a WAHA server at WAPIPE_WAHA_URL) or "embedded" (each
    # number's session runs inside WaPipe's workers). Cloud API numbers are the same either way.
    whatsapp: WhatsAppWeb = WhatsAppWeb.WAHA
    # The embedded transport's proxy to WhatsApp, when its traffic must go through one (socks5:// or http://).
    whatsapp_proxy: str = Field(default="", pattern=r"^((socks5|http|https)://\S+)?$")
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
    # A sync run holds its chat (and its creates in flight) this long, renewed every third of it while it
    # runs: a killed worker's chats are free again within this, and queued again by sync_rescue.
    sync_lease: float = Field(default=15.0, ge=3, le=3600)
    catch_up_every: float = Field(default=300.0, ge=60, le=86_400)  # a connected number's history is re-read
    # a catch-up run reads no further page after this; the next run goes on (room is left for one more
    # page inside the job's 300 s timeout)
    catch_up_budget: float = Field(default=120.0, gt=0, le=240)
    catch_up_pause: float = Field(default=1.0, ge=0, le=600)  # between a catch-up's runs: other jobs go first
    sweep_after: float = Field(default=60.0, ge=1, le=86_400)  # a stored webhook not processed is re-queued
    campaign_poll: float = Field(
        default=30.0, ge=0.1, le=3600
    )  # a campaign waiting on its outbox looks again
    campaign_stale: float = Field(
        default=180.0, ge=10, le=86_400
    )  # a campaign run this late is started again
    # a send not done by then (a gateway that neither answers nor fails) is retried like a transient failure;
    # at most 240, so it ends inside the send job's 300 s timeout
    send_deadline: float = Field(default=120.0, gt=0, le=240)
    # a stop word from a chat known only by its LID: its gateway is asked for the number again this often
    opt_out_recheck: float = Field(default=3600.0, ge=10, le=7 * 86_400)
    # An embedded WhatsApp session is held by one worker through a lease of this many seconds, renewed
    # this often (less than the lease); a worker looks for sessions nobody runs this often. A dead worker's
    # sessions are taken over within about the lease plus a look.
    session_lease_ttl: float = Field(default=15.0, ge=0.5, le=600)
    session_lease_renew: float = Field(default=5.0, gt=0, le=300)
    session_lease_poll: float = Field(default=5.0, gt=0, le=600)
    # An embedded session that cannot reach WhatsApp tries again after WAPIPE_RETRY_BASE seconds, twice as
    # long each time, never waiting longer than this.
    session_retry_max: float = Field(default=300.0, gt=0, le=3600)
    # With Redis, one process at a time refreshes an installation's Pipedrive tokens, under a lock lasting at
    # most this many seconds; another waits this long for it, looking this often, then its job is retried.
    refresh_lock_ttl: float = Field(default=30.0, ge=1, le=600)
    refresh_lock_wait: float = Field(default=20.0, gt=0, le=600)
    refresh_lock_poll: float = Field(default=0.1, gt=0, le=10)
    # Every process (each worker, each web process) records that it is alive this often, on its own; one
    # silent for three beats shows as not beating on the status page and fails /healthz/workers.
    heartbeat_every: float = Field(default=5.0, ge=0.1, le=300)
    job_poll: float = Field(default=0.05, gt=0, le=5)  # how often the in-process runner looks for due jobs
    conversation_poll: float = Field(default=3.0, ge=0.2, le=60)  # an open chat asks for new messages
    progress_poll: float = Field(default=2.0, ge=0.2, le=60)  # a page waiting for set-up or pairing asks
    # An attachment whose download fails is tried again after this, then twice as long each time (the
    # defaults fit in WAHA's 180 s file lifetime: 5, 15, 35, 75, 155 s), ``media_attempts`` times in all.
    media_retry_base: float = Field(default=5.0, gt=0, le=3600)
    media_attempts: int = Field(default=6, ge=1, le=12)

    # How many numbers one user may have waiting for their QR code (each holds a session on the gateway).
    max_pending_pairings: int = Field(default=3, ge=1, le=50)

    # Prometheus's scrapes: the web process serves /metrics, and a worker with WAPIPE_METRICS_PORT listens for
    # /metrics and /healthz on that port of WAPIPE_METRICS_HOST (an internal address; loopback by default).
    # /metrics answers only a request carrying this token (``Authorization: Bearer <token>``); unset, it
    # answers 404 ``metrics_not_configured``.
    metrics_token: SecretStr = SecretStr("")
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)

    media_dir: Path = Path("var/media")
    # Attachments in an S3-compatible bucket instead of ``media_dir``, so every process reads what any worker
    # stored (docs/deployment.md). The endpoint is an S3-compatible service's (unset: Amazon S3 in the
    # region); the prefix is put before every object's name.
    media_s3_bucket: str = ""
    media_s3_endpoint: str = ""
    media_s3_region: str = "us-east-1"
    media_s3_access_key_id: str = ""
    media_s3_secret_access_key: SecretStr = SecretStr("")
    media_s3_prefix: str = ""
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

    @model_validator(mode="after")
    def _session_lease_is_renewed_in_time(self) -> Settings:
        if self.session_lease_renew >= self.session_lease_ttl:
            raise SettingsError(
                f"WAPIPE_SESSION_LEASE_RENEW ({self.session_lease_renew} s) must be shorter than "
                f"WAPIPE_SESSION_LEASE_TTL ({self.session_lease_ttl} s), or a session's lease runs out "
                f"before its worker renews it"
            )
        return self

    @model_validator(mode="after")
    def _metrics_are_served_safely(self) -> Settings:
        token = self.metrics_token.get_secret_value()
        if token and (token.strip().lower() in PLACEHOLDERS or len(token) < MIN_METRICS_TOKEN):
            raise SettingsError(
                f"WAPIPE_METRICS_TOKEN is a placeholder or shorter than {MIN_METRICS_TOKEN} characters; set "
                f"it to a long random string (or unset it to serve no metrics)"
            )
        if token != token.strip() or any(character.isspace() for character in token):
            raise SettingsError(
                "WAPIPE_METRICS_TOKEN holds a space; a bearer token cannot carry one, set one without"
            )
        try:
            ipaddress.ip_address(self.metrics_host)
        except ValueError:
            raise SettingsError(
                f"WAPIPE_METRICS_HOST {self.metrics_host!r} is not an IP address; set the internal address "
                f"a worker's metrics listener binds to (127.0.0.1 unless Prometheus scrapes from elsewhere)"
            ) from None
        return self

    @model_validator(mode="after")
    def _media_bucket_can_be_reached(self) -> Settings:
        for problem in media_bucket_problems(self):
            raise SettingsError(problem)
        return self

    @property
    def media_in_bucket(self) -> bool:
        """Attachments go to an S3-compatible bucket (``WAPIPE_MEDIA_S3_BUCKET``), not ``media_dir``."""
        return bool(self.media_s3_bucket)

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
        names = [
            *DEMO_SECRETS,
            "cloud_app_secret",
            "cloud_verify_token",
            "cloud_access_token",
            "metrics_token",
            "media_s3_secret_access_key",
        ]
        secrets = [getattr(self, name).get_secret_value() for name in names]
        secrets += [key for key in self.encryption_keys.get_secret_value().split(",")]
        return [s for s in secrets if len(s) >= 6]


def media_bucket_problems(settings: Settings) -> list[str]:
    """What keeps the bucket settings from working, each naming the variable to fix (the first stops
    start-up); none without a bucket and without anything else of it set."""
    secret = settings.media_s3_secret_access_key.get_secret_value()
    if not settings.media_s3_bucket:
        given = [
            name
            for name, value in (
                ("ENDPOINT", settings.media_s3_endpoint),
                ("ACCESS_KEY_ID", settings.media_s3_access_key_id),
                ("SECRET_ACCESS_KEY", secret),
                ("PREFIX", settings.media_s3_prefix),
            )
            if value
        ]
        return [
            f"WAPIPE_MEDIA_S3_{name} is set but WAPIPE_MEDIA_S3_BUCKET is not: set the bucket to keep "
            f"attachments in object storage, or unset WAPIPE_MEDIA_S3_{name} to keep them in WAPIPE_MEDIA_DIR"
            for name in given
        ]
    problems = []
    if not _BUCKET.fullmatch(settings.media_s3_bucket) or ".." in settings.media_s3_bucket:
        problems.append(
            "WAPIPE_MEDIA_S3_BUCKET is not a bucket name: 3 to 63 lowercase letters, digits, dots and "
            "hyphens, beginning and ending with a letter or digit"
        )
    if not settings.media_s3_access_key_id or not secret:
        problems.append(
            "WAPIPE_MEDIA_S3_BUCKET is set but WAPIPE_MEDIA_S3_ACCESS_KEY_ID or "
            "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY is missing: set both to an access key allowed to read, write "
            "and delete objects in the bucket"
        )
    elif settings.is_production and secret.strip().lower() in PLACEHOLDERS:
        problems.append(
            "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY is a placeholder; set it to the access key's secret"
        )
    if settings.media_s3_endpoint and not _endpoint_url(settings.media_s3_endpoint):
        problems.append(
            "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint URL: give https://host or https://host:port "
            "(http:// on a private network), without a path, query or credentials"
        )
    if not _REGION.fullmatch(settings.media_s3_region):
        problems.append(
            "WAPIPE_MEDIA_S3_REGION is not a region name: lowercase letters, digits and hyphens "
            "(us-east-1, eu-central-1; auto for Cloudflare R2)"
        )
    if settings.media_s3_prefix and not _key_prefix(settings.media_s3_prefix):
        problems.append(
            "WAPIPE_MEDIA_S3_PREFIX is not a key prefix: letters, digits and !_.*'()- in segments "
            "separated by single slashes, not beginning with a slash (wapipe/media/, say)"
        )
    return problems


def _key_prefix(raw: str) -> bool:
    segments = raw.removesuffix("/").split("/")
    return bool(_PREFIX.fullmatch(raw)) and not any(s in ("", ".", "..") for s in segments)


def _endpoint_url(raw: str) -> bool:
    """``http(s)://host[:port]`` and nothing else (a trailing slash allowed)."""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError:
        return False
    plain = not (parts.username or parts.password or parts.query or parts.fragment)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and plain and parts.path in ("", "/")


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
