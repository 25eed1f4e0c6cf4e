"""The status page (``/``) and its self-refreshing fragment (``/status``): public, so job runners are named
by kind only (``worker``, ``web``), never by the host and process that run them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from panels.templating import render
from server.domain.text import Text, ntext

# The words a person reads for what the page names by code (English: the code as it is).
CHECKS = {"database": Text("database"), "queue": Text("queue"), "media": Text("attachments' bucket")}
MODES = {"production": Text("production"), "demo": Text("demo"), "test": Text("test")}
QUEUES = {"arq on Redis": Text("arq on Redis"), "in-process": Text("in-process")}
RUNNER_KINDS = {"worker": Text("worker"), "web": Text("web")}


@dataclass(frozen=True, slots=True)
class CheckView:
    name: str
    ok: bool
    error: str = ""  # why it failed: the kind of error, never its text (the page is public)

    @property
    def detail(self) -> str:
        """The check's outcome as ``/healthz`` answers it."""
        return "ok" if self.ok else f"unreachable ({self.error})"

    @property
    def label(self) -> str | Text:
        return CHECKS.get(self.name, self.name)

    @property
    def shown_detail(self) -> Text:
        return Text("ok") if self.ok else Text("unreachable (%(error)s)", error=self.error)


@dataclass(frozen=True, slots=True)
class RunnerView:
    """A kind of job runner: how many beat, and when one last did."""

    kind: str
    count: int  # how many beat lately
    seen_at: datetime
    silent: int = 0  # how many stopped beating (killed, hung) and are not forgotten yet

    @property
    def label(self) -> str | Text:
        name = RUNNER_KINDS.get(self.kind, self.kind)
        return name if self.count == 1 else Text("%(kind)s (%(count)s)", kind=name, count=self.count)

    @property
    def silent_label(self) -> Text | None:
        """How many of the kind stopped beating, when any did."""
        if not self.silent:
            return None
        return ntext("%(count)s not beating", "%(count)s not beating", self.silent)


@dataclass(frozen=True, slots=True)
class StatusView:
    version: str
    mode: str
    database_backend: str
    queue_backend: str
    checks: tuple[CheckView, ...]
    runners: tuple[RunnerView, ...]
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def mode_label(self) -> str | Text:
        return MODES.get(self.mode, self.mode)

    @property
    def queue_label(self) -> str | Text:
        return QUEUES.get(self.queue_backend, self.queue_backend)


def runners_by_kind(seen: dict[str, datetime], *, silent_before: datetime) -> tuple[RunnerView, ...]:
    """``{"worker:host:pid": at, ...}`` as one ``RunnerView`` a kind: how many of each kind beat lately and
    how many fell silent (their last beat before ``silent_before``), and when one last beat, without the
    hosts and process ids in the runners' names."""
    kinds: dict[str, list[datetime]] = {}
    for name, at in seen.items():
        kinds.setdefault(name.split(":", 1)[0], []).append(at)
    return tuple(
        RunnerView(
            kind,
            len([at for at in times if at >= silent_before]),
            max(times),
            len([at for at in times if at < silent_before]),
        )
        for kind, times in sorted(kinds.items())
    )


def render_status_page(view: StatusView) -> str:
    return render("panels/status.html", view=view)


def render_status_fragment(view: StatusView) -> str:
    return render("partials/_status.html", view=view)
