"""SecretBox: the newest key encrypts, any listed key decrypts; rotation and ``wapipe rotate-keys``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from server.crypto import SecretBox, UndecryptableSecret
from server.domain.errors import ConfigurationError
from server.domain.installations import StoredTokens
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.storage.migrate import upgrade

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_the_newest_key_encrypts_and_every_listed_key_decrypts() -> None:
    old_box = SecretBox([OLD])
    sealed = old_box.encrypt("v1u:secret-token")
    assert "secret-token" not in sealed
    both = SecretBox.from_setting(f" {NEW} , {OLD} ,")
    assert both.decrypt(sealed) == "v1u:secret-token"
    assert not both.is_current(sealed)
    fresh = both.encrypt("another")
    assert SecretBox([NEW]).decrypt(fresh) == "another"
    with pytest.raises(UndecryptableSecret):
        old_box.decrypt(fresh)
    rotated = both.rotate(sealed)
    assert both.is_current(rotated)
    assert SecretBox([NEW]).decrypt(rotated) == "v1u:secret-token"
    assert both.encrypt("") == both.decrypt("") == both.rotate("") == ""


def test_bad_configuration_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="WAPIPE_ENCRYPTION_KEYS"):
        SecretBox.from_setting(" , ")
    with pytest.raises(ConfigurationError, match="key #2"):
        SecretBox([NEW, "not-a-fernet-key"])
    with pytest.raises(UndecryptableSecret):
        SecretBox([NEW]).decrypt("garbage")


def test_the_repr_shows_no_key() -> None:
    assert NEW not in repr(SecretBox([NEW, OLD]))
    assert repr(SecretBox([NEW, OLD])) == "SecretBox(keys=2)"


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WAPIPE_")}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
        check=False,
    )


def test_wapipe_rotate_keys_re_encrypts_every_stored_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wapipe.db'}"
    upgrade(url)
    token = StoredTokens(
        "v1u:the-access-token",
        "1:2:the-refresh",
        datetime.now(UTC) + timedelta(hours=1),
        frozenset({"base"}),
        "https://acme.pipedrive.com",
    )

    async def seed() -> int:
        engine = make_async_engine(url)
        company = await SqlCompanyStore(engine).upsert(1, name="Acme", api_domain="", timezone="UTC")
        saved = await SqlInstallationStore(engine, SecretBox([OLD])).upsert(
            company.id, 5, name="Anna", email="", is_admin=True, tokens=token
        )
        await engine.dispose()
        return saved.id

    async def read(keys: list[str], installation_id: int) -> StoredTokens | None:
        engine = make_async_engine(url)
        try:
            return await SqlInstallationStore(engine, SecretBox(keys)).tokens(installation_id)
        finally:
            await engine.dispose()

    installation_id = asyncio.run(seed())
    env = {"WAPIPE_MODE": "test", "WAPIPE_VAR_DIR": str(tmp_path), "WAPIPE_ENCRYPTION_KEYS": f"{NEW},{OLD}"}
    result = _run_cli("rotate-keys", env=env)
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted the tokens of 1 installation(s)" in result.stdout
    assert "the-access-token" not in result.stdout + result.stderr
    assert asyncio.run(read([NEW], installation_id)) == token
    with pytest.raises(UndecryptableSecret):
        asyncio.run(read([OLD], installation_id))

    again = _run_cli("rotate-keys", env=env)
    assert "of 0 installation(s)" in again.stdout
    lost = _run_cli("rotate-keys", env={**env, "WAPIPE_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    assert lost.returncode != 0
    assert "cannot be decrypted" in lost.stderr
