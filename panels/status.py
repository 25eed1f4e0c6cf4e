"""The status page (``/``) and its self-refreshing fragment (``/status``): public, so job runners are named
by kind only (``worker``, ``web``), never by the host and process that run them."""

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
    runners: tuple[tuple[str, datetime], ...]  # (kind, with a count when several; the latest beat)
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def runners_by_kind(seen: dict[str, datetime]) -> tuple[tuple[str, datetime], ...]:
    """``{"worker:host:pid": at, ...}`` as ``(("worker (2)", latest), ...)``: how many of each kind and
    when one last beat, without the hosts and process ids in the runners' names."""
    kinds: dict[str, list[datetime]] = {}
    for name, at in seen.items():
        kinds.setdefault(name.split(":", 1)[0], []).append(at)
    return tuple(
        (kind if len(times) == 1 else f"{kind} ({len(times)})", max(times))
        for kind, times in sorted(kinds.items())
    )


def render_status_page(view: StatusView) -> str:
    return render("panels/status.html", view=view)


def render_status_fragment(view: StatusView) -> str:
    return render("partials/_status.html", view=view)
