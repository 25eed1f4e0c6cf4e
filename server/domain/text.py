"""Words a person reads, kept as a message id and its values until a page renders them in the reader's
language (``panels.i18n``). Code anywhere (an error, a view model) says ``Text("Sent to %(number)s",
number=n)`` and never picks a language; ``str()`` of it is the English text, which logs and tests see.

The message id is English with ``%(name)s`` placeholders, as gettext catalogues expect: the catalogues
under ``locale/`` translate it, and a reader whose language has no translation reads the English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class Text:
    """A message to translate: ``msgid`` (and for counted messages ``plural`` and ``count``) with values."""

    __slots__ = ("context", "count", "msgid", "params", "plural")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.plural: str | None = None
        self.count: int | None = None
        self.context: str | None = None
        self.params: Mapping[str, Any] = params

    def render(
        self,
        gettext: Callable[[str], str],
        ngettext: Callable[[str, str, int], str],
        pgettext: Callable[[str, str], str] | None = None,
    ) -> str:
        """The text in the language ``gettext``/``ngettext``/``pgettext`` translate into; values that are
        themselves ``Text`` are rendered in the same language."""
        if self.plural is not None and self.count is not None:
            template = ngettext(self.msgid, self.plural, self.count)
        elif self.context is not None and pgettext is not None:
            template = pgettext(self.context, self.msgid)
        else:
            template = gettext(self.msgid)
        if not self.params and self.count is None:
            return template
        values = {
            name: value.render(gettext, ngettext, pgettext) if isinstance(value, Text) else value
            for name, value in self.params.items()
        }
        if self.count is not None:
            values.setdefault("count", self.count)
        return template % values

    def __str__(self) -> str:
        return self.render(_same, _same_counted)

    def __repr__(self) -> str:
        return f"Text({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Text):
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        params = tuple(sorted(self.params.items(), key=lambda kv: kv[0]))
        return (self.msgid, self.plural, self.count, self.context, params)


def ntext(singular: str, plural: str, count: int, /, **params: Any) -> Text:
    """A counted message: ``ntext("%(count)s chat", "%(count)s chats", n)``; ``count`` is a value too."""
    text = Text(singular, **params)
    text.plural = plural
    text.count = count
    return text


def ptext(context: str, msgid: str, /, **params: Any) -> Text:
    """A message whose English means more than one thing: ``ptext("shared contact", "Contact")`` is
    translated apart from ``Text("Contact")`` (the person a chat is with)."""
    text = Text(msgid, **params)
    text.context = context
    return text


def _same(msgid: str) -> str:
    return msgid


def _same_counted(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural
