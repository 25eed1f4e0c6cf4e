"""The reader's language: which one a request is answered in, its message catalogues, and how numbers and
moments are written in it.

WaPipe speaks English (the message ids) and Japanese (``locale/ja/LC_MESSAGES/*.po``, one catalogue per
part of the product, merged when read). A request is answered in the language of the Pipedrive user it
comes from (``/users/me`` gives it at install; ``server.web.language``), else the browser's
(``Accept-Language``), else English. The language is held for the request in a context variable that
``panels.templating`` renders with.

Catalogues are read from their ``.po`` source (no compiled files to keep in step): an entry marked fuzzy
or left empty is not used, so a reader sees the English rather than a guess.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from server.domain.text import Text

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
ENGLISH = "en"
LANGUAGES = (ENGLISH, "ja")  # what WaPipe is written in; the first is the message ids' own

_current: ContextVar[str] = ContextVar("wapipe_language", default=ENGLISH)


def language() -> str:
    """The language the current request is answered in."""
    return _current.get()


def use_language(code: str) -> None:
    """Answer the rest of the current request in ``code`` (one of ``LANGUAGES``; anything else is English)."""
    _current.set(code if code in LANGUAGES else ENGLISH)


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """Render in ``code`` for the block (a job writing for a user, a test), then as before."""
    token = _current.set(code if code in LANGUAGES else ENGLISH)
    try:
        yield
    finally:
        _current.reset(token)


def supported(tag: str | None) -> str | None:
    """The language of ours a Pipedrive or browser language tag asks for (``ja``, ``ja_JP``, ``ja-JP``),
    ``None`` when we have none for it."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The browser's most wanted language we have (``Accept-Language``, by its q-values), if any."""
    if not header:
        return None
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            wanted.append((-quality, position, tag))
    for _, _, tag in sorted(wanted):
        if (code := supported(tag)) is not None:
            return code
    return None


@lru_cache(maxsize=len(LANGUAGES))
def translations(code: str) -> gettext.NullTranslations:
    """The merged catalogues of ``code``; English reads the message ids as they are."""
    if code == ENGLISH or code not in LANGUAGES:
        return gettext.NullTranslations()
    merged: Translations | None = None
    for po in sorted((LOCALE_DIR / code / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=code)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        part = Translations(compiled)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged if merged is not None else gettext.NullTranslations()


def translate(value: Text | str, code: str | None = None) -> str:
    """``value`` in ``code`` (the current request's language by default); plain text is already final."""
    if not isinstance(value, Text):
        return value
    catalogue = translations(code or language())
    return value.render(catalogue.gettext, catalogue.ngettext, catalogue.pgettext)


def number(value: int | float, code: str | None = None) -> str:
    """A number as the reader's language writes it (``4,096``)."""
    return format_decimal(value, locale=_babel_locale(code or language()))


def moment(value: datetime, pattern: str = "medium", code: str | None = None) -> str:
    """A moment (already in the reader's time zone) as their language writes it."""
    return format_datetime(
        value, format=pattern, tzinfo=value.tzinfo, locale=_babel_locale(code or language())
    )


@lru_cache(maxsize=len(LANGUAGES))
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code if code in LANGUAGES else ENGLISH)
