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
