"""The sync engine's store on SQLite or PostgreSQL: one object over the modules that each keep one kind
of row (chats, links, leases, settings, installations, problems, days, intents, media, changes)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.chat_links import LinkRows
from server.storage.media import MediaRows
from server.storage.message_changes import ChangeRows
from server.storage.sync_chats import ChatRows
from server.storage.sync_days import DayRows
from server.storage.sync_installations import InstallationRows
from server.storage.sync_intents import IntentRows
from server.storage.sync_leases import LeaseRows
from server.storage.sync_problems import ProblemRows
from server.storage.sync_settings import SettingsRows


class SqlSyncStore(
    ChatRows,
    LinkRows,
    LeaseRows,
    SettingsRows,
    InstallationRows,
    ProblemRows,
    DayRows,
    IntentRows,
    MediaRows,
    ChangeRows,
):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
