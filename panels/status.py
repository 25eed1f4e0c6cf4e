"""The status page (``/``) and its self-refreshing fragment (``/status``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from panels.templating import render


@dataclass(frozen=True, slots=True)
class CheckView:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class StatusView:
    version: str
    mode: str
    database_backend: str
    queue_backend: str
    checks: tuple[CheckView, ...]
    runners: tuple[tuple[str, datetime], ...]
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def render_status_page(view: StatusView) -> str:
    return render("panels/status.html", view=view)


def render_status_fragment(view: StatusView) -> str:
    return render("partials/_status.html", view=view)
