from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from server.settings import DEMO_SECRETS, Mode, Settings, load_settings, normalise_database_url

REAL_SECRETS = {
    "secret_key": "k" * 40,
    "encryption_keys": "0" * 43 + "=",
    "pipedrive_client_id": "abc123",
    "pipedrive_client_secret": "s" * 40,
    "pipedrive_jwt_secret": "j" * 40,
    "waha_api_key": "w" * 32,
    "waha_webhook_hmac_key": "h" * 32,
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WAPIPE_"):
            monkeypatch.delenv(name)


def test_production_with_every_secret_set_starts() -> None:
    settings = Settings(**REAL_SECRETS)  # type: ignore[arg-type]
    assert settings.mode is Mode.PRODUCTION
    assert settings.pipedrive_client_secret.get_secret_value() == "s" * 40


@pytest.mark.parametrize("field", sorted(DEMO_SECRETS))
def test_missing_secret_stops_start_up_naming_the_variable(field: str) -> None:
    values = {k: v for k, v in REAL_SECRETS.items() if k != field}
    with pytest.raises(ValidationError, match=f"WAPIPE_{field.upper()} is missing or a placeholder"):
        Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "placeholder", ["change-me", "CHANGEME", " secret ", "demo-jwt-secret-for-the-sandbox-only"]
)
def test_placeholder_or_demo_secret_is_refused_in_production(placeholder: str) -> None:
    with pytest.raises(ValidationError, match="WAPIPE_PIPEDRIVE_JWT_SECRET"):
        Settings(**{**REAL_SECRETS, "pipedrive_jwt_secret": placeholder})  # type: ignore[arg-type]


def test_missing_client_id_is_named() -> None:
    values = {k: v for k, v in REAL_SECRETS.items() if k != "pipedrive_client_id"}
    with pytest.raises(ValidationError, match="WAPIPE_PIPEDRIVE_CLIENT_ID"):
        Settings(**values)  # type: ignore[arg-type]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REAL_SECRETS.items():
        monkeypatch.setenv(f"WAPIPE_{name.upper()}", value)
    monkeypatch.setenv("WAPIPE_REDIS_URL", "redis://example:6379/0")
    settings = load_settings()
    assert settings.redis_url == "redis://example:6379/0"
    assert settings.waha_api_key.get_secret_value() == "w" * 32


def test_demo_mode_fills_stand_ins_for_missing_secrets() -> None:
    settings = load_settings(mode=Mode.DEMO)
    assert settings.secret_key.get_secret_value() == DEMO_SECRETS["secret_key"]
    assert settings.pipedrive_client_id


def test_secrets_never_reach_a_repr() -> None:
    settings = Settings(**REAL_SECRETS)  # type: ignore[arg-type]
    assert "s" * 40 not in repr(settings)
    assert "s" * 40 not in str(settings.model_dump())
    assert isinstance(settings.pipedrive_client_secret, SecretStr)


def test_embedded_default_is_sqlite_under_var_dir(tmp_path: object) -> None:
    settings = load_settings(mode=Mode.TEST, var_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/wapipe.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite:///var/x.db"),
    ],
)
def test_hosting_platform_database_urls_use_psycopg_3(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_a_metrics_token_is_long_and_random_or_unset() -> None:
    assert Settings(**REAL_SECRETS).metrics_token.get_secret_value() == ""  # type: ignore[arg-type]
    token = "m" * 32
    settings = Settings(**REAL_SECRETS, metrics_token=token)  # type: ignore[arg-type]
    assert token in settings.secret_values()  # redacted from the logs like every secret
    assert token not in repr(settings)
    for weak in ("change-me", "m" * 31, "with a space " + "m" * 32):
        with pytest.raises(ValidationError, match="WAPIPE_METRICS_TOKEN"):
            Settings(**REAL_SECRETS, metrics_token=weak)  # type: ignore[arg-type]


def test_the_metrics_listener_binds_an_address_and_a_port() -> None:
    settings = Settings(**REAL_SECRETS, metrics_host="10.0.0.7", metrics_port=9108)  # type: ignore[arg-type]
    assert (settings.metrics_host, settings.metrics_port) == ("10.0.0.7", 9108)
    assert Settings(**REAL_SECRETS).metrics_port is None  # type: ignore[arg-type]
    not_an_address = r"WAPIPE_METRICS_HOST 'metrics\.internal' is not an IP address"
    with pytest.raises(ValidationError, match=not_an_address):
        Settings(**REAL_SECRETS, metrics_host="metrics.internal")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="metrics_port"):
        Settings(**REAL_SECRETS, metrics_port=70_000)  # type: ignore[arg-type]


BUCKET = {
    "media_s3_bucket": "acme-wapipe-media",
    "media_s3_access_key_id": "AKIAEXAMPLEKEY",
    "media_s3_secret_access_key": "bucket-secret-not-for-logs",
}


def test_a_bucket_with_its_key_keeps_attachments_in_object_storage() -> None:
    settings = Settings(**REAL_SECRETS, **BUCKET, media_s3_endpoint="https://s3.example.com:9000/")  # type: ignore[arg-type]
    assert settings.media_in_bucket
    assert "bucket-secret-not-for-logs" in settings.secret_values()  # logs redact it
    assert "bucket-secret-not-for-logs" not in repr(settings)
    assert not Settings(**REAL_SECRETS).media_in_bucket  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"media_s3_access_key_id": ""}, "WAPIPE_MEDIA_S3_BUCKET is set but WAPIPE_MEDIA_S3_ACCESS_KEY_ID"),
        ({"media_s3_secret_access_key": ""}, "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY is missing"),
        ({"media_s3_secret_access_key": "change-me"}, "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY is a placeholder"),
        ({"media_s3_bucket": "Acme_Media"}, "WAPIPE_MEDIA_S3_BUCKET is not a bucket name"),
        ({"media_s3_bucket": "ab"}, "WAPIPE_MEDIA_S3_BUCKET is not a bucket name"),
        ({"media_s3_bucket": "acme..media"}, "WAPIPE_MEDIA_S3_BUCKET is not a bucket name"),
        ({"media_s3_endpoint": "s3.example.com"}, "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint URL"),
        ({"media_s3_endpoint": "ftp://s3.example.com"}, "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint URL"),
        (
            {"media_s3_endpoint": "https://s3.example.com/bucket"},
            "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint",
        ),
        ({"media_s3_endpoint": "https://s3.example.com/?x=1"}, "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint"),
        (
            {"media_s3_endpoint": "https://s3.example.com:99999"},
            "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint",
        ),
        ({"media_s3_endpoint": "https://"}, "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint URL"),
        ({"media_s3_region": "EU Central"}, "WAPIPE_MEDIA_S3_REGION is not a region name"),
        ({"media_s3_prefix": "/wapipe"}, "WAPIPE_MEDIA_S3_PREFIX is not a key prefix"),
        ({"media_s3_prefix": "wapipe//media"}, "WAPIPE_MEDIA_S3_PREFIX is not a key prefix"),
        ({"media_s3_prefix": "wapipe/../other"}, "WAPIPE_MEDIA_S3_PREFIX is not a key prefix"),
        ({"media_s3_prefix": "wa pipe"}, "WAPIPE_MEDIA_S3_PREFIX is not a key prefix"),
    ],
)
def test_bucket_settings_that_cannot_work_stop_start_up_naming_the_variable(
    changes: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**REAL_SECRETS, **{**BUCKET, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "given",
    ["media_s3_endpoint", "media_s3_access_key_id", "media_s3_secret_access_key", "media_s3_prefix"],
)
def test_bucket_settings_without_a_bucket_are_a_mistake_named(given: str) -> None:
    value = "https://s3.example.com" if given == "media_s3_endpoint" else "wapipe/"
    with pytest.raises(
        ValidationError, match=f"WAPIPE_{given.upper()} is set but WAPIPE_MEDIA_S3_BUCKET is not"
    ):
        Settings(**REAL_SECRETS, **{given: value})  # type: ignore[arg-type]


def test_an_endpoint_with_credentials_in_it_is_refused_without_showing_them() -> None:
    with pytest.raises(ValidationError) as refused:
        load_settings(
            **REAL_SECRETS, **BUCKET, media_s3_endpoint="https://admin:hunter22@minio.internal:9000"
        )
    [problem] = refused.value.errors()
    assert "WAPIPE_MEDIA_S3_ENDPOINT is not an endpoint URL" in problem["msg"]
    assert "hunter22" not in problem["msg"]


def test_good_prefixes_and_regions_are_taken() -> None:
    for prefix, region in [("wapipe/", "eu-central-1"), ("a/b-c/d_e.f", "auto"), ("", "us-east-1")]:
        settings = Settings(**REAL_SECRETS, **BUCKET, media_s3_prefix=prefix, media_s3_region=region)  # type: ignore[arg-type]
        assert (settings.media_s3_prefix, settings.media_s3_region) == (prefix, region)


def test_the_demo_keeps_attachments_on_disk_whatever_the_shell_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.demo import demo_addresses, demo_settings_overrides

    for name, value in BUCKET.items():
        monkeypatch.setenv(f"WAPIPE_{name.upper()}", value)
    overrides = demo_settings_overrides(demo_addresses("127.0.0.1", 8000, 8001, 8002))
    settings = load_settings(mode=Mode.DEMO, **overrides)
    assert not settings.media_in_bucket
