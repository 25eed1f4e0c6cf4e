"""What a person reads on a page, as its words in Latin letters: its text outside scripts and styles, and the
attributes a browser shows (a tooltip, a placeholder, an image's text, a confirmation). A page in Japanese
keeps only names and data in Latin letters."""

from __future__ import annotations

import re
from collections.abc import Collection
from html.parser import HTMLParser

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "hx-confirm"}
PRODUCTS = {"WaPipe", "WhatsApp", "Pipedrive"}


class _Reader(HTMLParser):
    def __init__(self, skip_ids: Collection[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
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
        self.text += [value for name, value in attrs if value and name in SHOWN_ATTRIBUTES]
        if tag == "input" and ("type", "submit") in attrs:
            self.text += [value for name, value in attrs if value and name == "value"]

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_tag and tag == self._hidden_tag:
            self._nested -= 1
            if self._nested == 0:
                self._hidden_tag = ""

    def handle_data(self, data: str) -> None:
        if not self._hidden_tag:
            self.text.append(data)


def latin_words(html: str, *, allowed: Collection[str] = (), skip_ids: Collection[str] = ()) -> list[str]:
    """The words in Latin letters a person reads on ``html``, apart from the products' names, the
    ``allowed`` ones (names and data the page shows) and what the elements ``skip_ids`` hold."""
    reader = _Reader(skip_ids)
    reader.feed(html)
    reader.close()
    words = LATIN_WORD.findall(" ".join(reader.text))
    return [word for word in words if word not in PRODUCTS and word not in allowed]
