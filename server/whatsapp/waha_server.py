"""Which WAHA servers WaPipe works with, read from ``GET /api/server/version`` (``{version, engine, tier}``).

- Engine: WaPipe catches up after a gap by reading every chat's history at once (``chatId=all``), which
  GOWS and NOWEB serve and WEBJS and WPP (a real WAHA's default is WEBJS) do not. On NOWEB the session is
  created with its store on (``config.noweb.store``), without which NOWEB keeps no chats or history.
- Version: Core before 2026.6.1 runs only the session named ``default`` and, in the releases that could
  be checked (2024.10.8), signed no webhooks and retried none; WaPipe needs a session per number and
  signed deliveries. Group members come from participants v2, which needs 2025.11.1.

A server that falls short is refused by name with what to change, before a session is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.domain.errors import ConfigurationError
from server.domain.text import Text
from server.whatsapp.untrusted_input import as_object, get_str

ENGINES = ("GOWS", "NOWEB")
MINIMUM_VERSION = (2025, 11, 1)
CORE_SESSIONS_FROM = (2026, 6, 1)
_VERSION = re.compile(r"v?(\d{4})\.(\d{1,2})\.(\d{1,4})(?:[-+.].*)?")


@dataclass(frozen=True)
class WahaServer:
    version: str
    engine: str
    tier: str

    @property
    def release(self) -> tuple[int, int, int] | None:
        found = _VERSION.fullmatch(self.version.strip())
        return (int(found[1]), int(found[2]), int(found[3])) if found else None


def read_server(answer: object) -> WahaServer:
    body = as_object(answer)
    return WahaServer(
        version=(get_str(body, "version") or "")[:40],
        engine=(get_str(body, "engine") or "").upper()[:20],
        tier=(get_str(body, "tier") or "").upper()[:20],
    )


def _dotted(release: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in release)


def server_problem(server: WahaServer) -> ConfigurationError | None:
    """Why WaPipe cannot work with ``server``, with what to change; ``None`` when it can."""
    release = server.release
    if release is None:
        return ConfigurationError(
            Text(
                "WAHA reports the version %(version)s, which WaPipe cannot read; use WAHA %(needed)s or "
                "newer (image devlikeapro/waha)",
                version=repr(server.version),
                needed=_dotted(CORE_SESSIONS_FROM),
            ),
            reason="waha_version_unreadable",
        )
    if server.tier == "CORE" and release < CORE_SESSIONS_FROM:
        return ConfigurationError(
            Text(
                "WAHA %(version)s Core runs only the session named 'default' and cannot sign or retry "
                "webhooks; WaPipe needs a session per number and signed webhooks. Upgrade WAHA to "
                "%(needed)s or newer (image devlikeapro/waha)",
                version=server.version,
                needed=_dotted(CORE_SESSIONS_FROM),
            ),
            reason="waha_too_old",
        )
    if release < MINIMUM_VERSION:
        return ConfigurationError(
            Text(
                "WAHA %(version)s is older than %(needed)s, which WaPipe needs to read group members; "
                "upgrade WAHA",
                version=server.version,
                needed=_dotted(MINIMUM_VERSION),
            ),
            reason="waha_too_old",
        )
    if server.engine not in ENGINES:
        engine = server.engine or Text("unnamed")
        return ConfigurationError(
            Text(
                "WAHA runs the %(engine)s engine; WaPipe catches up on missed messages by reading every "
                "chat's history at once, which only GOWS and NOWEB serve. Set WHATSAPP_DEFAULT_ENGINE=GOWS "
                "on the WAHA container and restart it",
                engine=engine,
            ),
            reason="waha_engine_unsupported",
        )
    return None
