"""The WAHA server's version, engine and tier, and the differences between them that WaPipe depends on.

- `GET /api/server/version` (and the older `GET /api/version`) answers `{version, engine, tier, browser,
  platform, worker}`; the default engine of a real WAHA is WEBJS (`WHATSAPP_DEFAULT_ENGINE`); the
  sandbox starts as GOWS, the engine WaPipe recommends.
- Core before 2026.6.1 runs only the session named `default`: any other name is refused with 422
  "WAHA Core support only 'default' session" (WAHA `src/core/manager.core.ts`).
- History of every chat at once (`chatId=all`) is served by GOWS and NOWEB only; WEBJS and WPP look for a
  chat named `all` and fail.
- NOWEB keeps no chats or messages unless the session's `config.noweb.store.enabled` is set: its chat and
  history endpoints answer 400 naming the setting.

`POST /_sim/server {version?, engine?, tier?}` switches them for a test; a reset returns to the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.waha.models import SandboxError, Session

ENGINES = ("WEBJS", "WPP", "NOWEB", "GOWS")
TIERS = ("CORE", "PLUS")
ALL_CHATS_ENGINES = frozenset({"GOWS", "NOWEB"})
CORE_SESSIONS_FROM = (2026, 6, 1)
NOWEB_STORE_NEEDED = (
    "Enable NOWEB store 'config.noweb.store.enabled=True' and 'config.noweb.store.full_sync=True' "
    "when starting a new session."
)
_VERSION = re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,3})")


@dataclass
class ServerInfo:
    version: str = "2026.7.1"
    engine: str = "GOWS"
    tier: str = "CORE"

    def reset(self) -> None:
        self.version, self.engine, self.tier = ServerInfo.version, ServerInfo.engine, ServerInfo.tier

    def json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "engine": self.engine,
            "tier": self.tier,
            "browser": "/usr/bin/chromium",  # the image ships the browser whatever engine runs
            "platform": "linux/x64",
            "worker": {"id": None},
        }

    def environment(self) -> dict[str, Any]:
        """The `environment` of a webhook envelope."""
        return {"version": self.version, "engine": self.engine, "tier": self.tier, "browser": None}

    def switch(self, body: dict[str, Any]) -> None:
        version = str(body.get("version", self.version))
        engine = str(body.get("engine", self.engine)).upper()
        tier = str(body.get("tier", self.tier)).upper()
        if not _VERSION.fullmatch(version):
            raise SandboxError(400, "'version' must look like 2026.7.1")
        if engine not in ENGINES:
            raise SandboxError(400, f"'engine' must be one of {', '.join(ENGINES)}")
        if tier not in TIERS:
            raise SandboxError(400, f"'tier' must be one of {', '.join(TIERS)}")
        self.version, self.engine, self.tier = version, engine, tier

    def _release(self) -> tuple[int, int, int]:
        found = _VERSION.fullmatch(self.version)
        assert found is not None  # switch() keeps it readable
        return int(found[1]), int(found[2]), int(found[3])

    def check_session_name(self, name: str) -> None:
        if self.tier == "CORE" and self._release() < CORE_SESSIONS_FROM and name != "default":
            raise SandboxError(422, "WAHA Core support only 'default' session", error="Unprocessable Entity")

    def check_chats(self, session: Session) -> None:
        if self.engine == "NOWEB" and not _noweb_store(session.config):
            raise SandboxError(400, NOWEB_STORE_NEEDED, error="Bad Request")

    def check_history(self, session: Session, chat_id: str) -> None:
        self.check_chats(session)
        if chat_id == "all" and self.engine not in ALL_CHATS_ENGINES:
            raise SandboxError(400, "Chat not found: all", error="Bad Request")


def _noweb_store(config: dict[str, Any]) -> bool:
    noweb = config.get("noweb")
    store = noweb.get("store") if isinstance(noweb, dict) else None
    return isinstance(store, dict) and store.get("enabled") is True
