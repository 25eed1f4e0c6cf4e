"""The Jinja2 environment every page and fragment renders through (autoescaping on).

Every value a template prints also loses bidirectional overrides and zero-width characters (the same
rule as the notes WaPipe writes into Pipedrive, ``server.domain.transcript.neutralise``): a file name
``invoice<U+202E>fdp.exe`` would otherwise read as ``invoiceexe.pdf``, and invisible characters make
two different numbers or names look the same.

Pages render in the current request's language (``panels.i18n``): one environment per language, with
Jinja2's i18n extension (``{% trans %}``, ``_()``, ``ngettext()``) over that language's catalogues; a
``Text`` a view model or an error carries prints translated. The values a translated sentence holds are
escaped and neutralised like any printed value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from panels.i18n import LANGUAGES, language, moment, number, translate, translations
from server.domain.text import Text
from server.domain.transcript import neutralise

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def shown(value: Any, code: str | None = None) -> Any:
    """What ``{{ value }}`` prints: text neutralised before it is escaped; markup and non-text as they are;
    a ``Text`` in the current language."""
    if isinstance(value, Text):
        value = translate(value, code)
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


@lru_cache(maxsize=len(LANGUAGES))
def environment(code: str = "en") -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=lambda value: shown(value, code),
    )
    env.filters["seconds"] = seconds
    env.filters["iso_utc"] = iso_utc
    env.filters["number"] = lambda value: number(value, code)
    env.filters["moment"] = lambda value, pattern="medium": moment(value, pattern, code)
    env.globals["language"] = code
    catalogue = translations(code)
    install = env.install_gettext_callables  # type: ignore[attr-defined]
    install(catalogue.gettext, catalogue.ngettext, newstyle=True)

    # ``_()``, ``gettext()``, ``ngettext()`` and ``{% trans %}`` (which calls them) as the extension's
    # "new style" has them, with every value shown as ``{{ value }}`` would show it.
    @pass_context
    def gettext(context: Context, message: str, **values: Any) -> str:
        return _filled(context, catalogue.gettext(message), values, code)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **values: Any) -> str:
        values.setdefault("num", num)
        return _filled(context, catalogue.ngettext(singular, plural, num), values, code)

    env.globals.update(gettext=gettext, _=gettext, ngettext=ngettext)
    return env


def _filled(context: Context, sentence: str, values: dict[str, Any], code: str) -> str:
    shown_values = {name: shown(value, code) for name, value in values.items()}
    if context.eval_ctx.autoescape:
        # The sentence is ours (a catalogue's); Markup's % escapes each value.
        return Markup(sentence) % shown_values  # noqa: S704
    return sentence % shown_values


def render(template: str, **context: Any) -> str:
    """``template`` in the current request's language."""
    return environment(language()).get_template(template).render(**context)
