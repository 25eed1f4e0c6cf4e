"""Pages of the install flow: installed (with setup progress), an admin must install first, and failures."""

from __future__ import annotations

from dataclasses import dataclass

from panels.errors import ErrorView
from panels.templating import render

SETUP_PATIENCE_SECONDS = 60  # then the page stops asking and says what to do


@dataclass(frozen=True, slots=True)
class SetupProgress:
    """Whether the company's set-up in Pipedrive (activity type, fields) is done."""

    complete: bool
    status_url: str  # the fragment that polls itself until complete
    polls: int = 0
    poll_seconds: float = 2.0  # how often the page asks again until the set-up is complete

    @property
    def gave_up(self) -> bool:
        return not self.complete and self.polls * self.poll_seconds >= SETUP_PATIENCE_SECONDS

    @property
    def next_url(self) -> str:
        return f"{self.status_url}&polls={self.polls + 1}"


@dataclass(frozen=True, slots=True)
class InstalledView:
    company_name: str
    user_name: str
    is_admin: bool
    setup: SetupProgress
    settings_url: str | None  # Pipedrive's page hosting WaPipe's settings


def render_installed(view: InstalledView) -> str:
    return render("panels/install.html", view=view, problem=None)


def render_setup_progress(progress: SetupProgress) -> str:
    return render("partials/_install_setup.html", setup=progress)


def render_problem(problem: ErrorView) -> str:
    """A named install failure (``where="install"``); its ``retry_url`` is where to start again."""
    return render("panels/install.html", view=None, problem=problem)
