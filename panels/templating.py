"""The Jinja2 environment every page and fragment renders through (autoescaping on).

Every value a template prints also loses bidirectional overrides and zero-width characters (the same
rule as the notes WaPipe writes into Pipedrive, ``server.domain.transcript.neutralise``): a file name
``invoice<U+202E>fdp.exe`` would otherwise read as ``invoiceexe.pdf``, and invisible characters make
two different numbers or names look the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from server.domain.transcript import neutralise

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def shown(value: Any) -> Any:
    """What ``{{ value }}`` prints: text neutralised before it is escaped; markup and non-text as they are."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return neutralise(value)
    return value


def iso_utc(value: datetime) -> str:
    """A moment as ``<time datetime>`` carries it: ISO 8601 in UTC (a stored time without a zone is UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def seconds(value: float) -> str:
    """An interval as htmx reads it: ``2s``, ``0.5s``."""
    return f"{value:g}s"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=shown,
    )
    env.filters["seconds"] = seconds
    env.filters["iso_utc"] = iso_utc
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
