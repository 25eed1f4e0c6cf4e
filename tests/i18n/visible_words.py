"""What a person reads on a page, and its words in Latin letters: the text outside scripts and styles, and
the attributes a browser shows or reads out (a tooltip, a placeholder, an image's text, a confirmation,
the sentences a script shows: ``data-text-*``). A page in Japanese keeps only names and data in Latin
letters. One reader for every test that checks a page's language, and for the check that templates hold no
word outside a translation."""

from __future__ import annotations

import re
from collections.abc import Collection
from html.parser import HTMLParser

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "hx-confirm"}
PRODUCTS = {"WaPipe", "WhatsApp", "Pipedrive"}
SCRIPT_PLACEHOLDER = re.compile(r"\{\w+\}")  # what a script fills into a sentence of the page


class _Reader(HTMLParser):
    def __init__(self, skip_ids: Collection[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_ids = skip_ids
        self._hidden_tag = ""  # the element whose content is not read (a script, a skipped element)
        self._nested = 0  # how many of its kind are open inside it

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden_tag:
            self._nested += tag == self._hidden_tag
            return
        if tag in ("script", "style") or dict(attrs).get("id") in self._skip_ids:
            self._hidden_tag, self._nested = tag, 1
            return
        self.parts += [
            value
            for name, value in attrs
            if value and (name in SHOWN_ATTRIBUTES or name.startswith("data-text-"))
        ]
        if tag == "input" and ("type", "submit") in attrs:
            self.parts += [value for name, value in attrs if value and name == "value"]

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_tag and tag == self._hidden_tag:
            self._nested -= 1
            if self._nested == 0:
                self._hidden_tag = ""

    def handle_data(self, data: str) -> None:
        if not self._hidden_tag and data.strip():
            self.parts.append(data.strip())


def _shown(attribute: str) -> bool:
    return attribute in SHOWN_ATTRIBUTES or attribute.startswith("data-text-")


def visible_text(html: str, *, skip_ids: Collection[str] = ()) -> str:
    """What a person reads on ``html``, one part per line (less what the elements ``skip_ids`` hold)."""
    reader = _Reader(skip_ids)
    reader.feed(html)
    reader.close()
    return "\n".join(reader.parts)


def latin_words(
    html: str, *, allowed: Collection[str] = (), data: Collection[str] = (), skip_ids: Collection[str] = ()
) -> list[str]:
    """The words in Latin letters a person reads on ``html``, apart from the products' names, the ``allowed``
    words, the ``data`` the page shows as it is (whole names, emails: taken out before the words are read)
    and what the elements ``skip_ids`` hold."""
    text = SCRIPT_PLACEHOLDER.sub(" ", visible_text(html, skip_ids=skip_ids))
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return [word for word in LATIN_WORD.findall(text) if word not in PRODUCTS and word not in allowed]
