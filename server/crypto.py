"""Secrets at rest: Fernet encryption with key rotation.

``WAPIPE_ENCRYPTION_KEYS`` lists Fernet keys newest first, comma-separated. New values are encrypted with
the newest key; any listed key decrypts. To rotate: put a new key first, run ``wapipe rotate-keys`` (which
re-encrypts every stored secret with it), then drop the old key from the list.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from server.domain.errors import ConfigurationError, WaPipeError


class UndecryptableSecret(WaPipeError):
    """A stored secret none of the configured keys can read (a key was dropped before rotating)."""

    reason = "undecryptable_secret"


class SecretBox:
    """Encrypts and decrypts secrets (OAuth tokens, gateway credentials, session device stores). Holds no
    plaintext."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigurationError("WAPIPE_ENCRYPTION_KEYS is empty; set at least one Fernet key")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError) as error:
                raise ConfigurationError(
                    f"WAPIPE_ENCRYPTION_KEYS: key #{position} is not a Fernet key (32 url-safe base64 bytes)"
                ) from error
        self._fernet = MultiFernet(fernets)
        self._newest = fernets[0]
        self.key_count = len(fernets)

    @classmethod
    def from_setting(cls, value: str) -> SecretBox:
        """From the comma-separated setting, newest key first; blanks around keys are ignored."""
        return cls([key.strip() for key in value.split(",") if key.strip()])

    def __repr__(self) -> str:
        return f"SecretBox(keys={self.key_count})"

    def encrypt(self, plaintext: str) -> str:
        """The Fernet token (ASCII) of ``plaintext``, under the newest key; ``""`` stays ``""``."""
        if not plaintext:
            return ""
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; ``UndecryptableSecret`` when no configured key opens it."""
        if not ciphertext:
            return ""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as error:
            raise UndecryptableSecret(
                "A stored secret cannot be decrypted with WAPIPE_ENCRYPTION_KEYS; put the old key back "
                "(after the new one) and run `wapipe rotate-keys`"
            ) from error

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        """The Fernet token of a file's bytes (a session's device store), under the newest key."""
        return self._fernet.encrypt(plaintext)

    def decrypt_bytes(self, ciphertext: bytes) -> bytes:
        """The file's bytes; ``UndecryptableSecret`` when no configured key opens them."""
        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken as error:
            raise UndecryptableSecret(
                "A stored file cannot be decrypted with WAPIPE_ENCRYPTION_KEYS; put the old key back "
                "(after the new one) and run `wapipe rotate-keys`"
            ) from error

    def rotate_bytes(self, ciphertext: bytes) -> bytes:
        """``ciphertext`` re-encrypted under the newest key."""
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken as error:
            raise UndecryptableSecret(
                "A stored file cannot be decrypted with WAPIPE_ENCRYPTION_KEYS; it was not rotated"
            ) from error

    def rotate(self, ciphertext: str) -> str:
        """``ciphertext`` re-encrypted under the newest key (unchanged plaintext and timestamp)."""
        if not ciphertext:
            return ""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as error:
            raise UndecryptableSecret(
                "A stored secret cannot be decrypted with WAPIPE_ENCRYPTION_KEYS; it was not rotated"
            ) from error

    def is_current(self, ciphertext: str) -> bool:
        """Whether the newest key alone opens ``ciphertext`` (nothing to rotate)."""
        if not ciphertext:
            return True
        try:
            self._newest.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True
