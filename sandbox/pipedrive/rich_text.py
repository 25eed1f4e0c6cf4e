"""Notes as Pipedrive's pages show them: the HTML an app wrote, cleaned to a few formatting tags.

An activity's or a note's ``note`` is HTML from whoever called the API. Pipedrive shows it formatted but
never runs it; so does the sandbox: only the tags below are kept (without any attribute but a link's
http(s) or mailto address), what scripts, styles and embedded documents contain is dropped, and every
other tag is dropped while its text stays, escaped.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from markupsafe import Markup

KEPT_TAGS = frozenset(
    [
        "p",
        "br",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "a",
        "blockquote",
        "span",
        "div",
        "code",
    ]
)
EMPTY_TAGS = frozenset({"br"})
# Tags whose content is not text to show: it is dropped with them.
DROPPED_WITH_CONTENT = frozenset(
    [
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "template",
        "noscript",
        "textarea",
        "title",
        "svg",
        "math",
    ]
)
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def safe_href(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) or mailto address (as a browser reads it, ignoring the
    blanks and control characters it ignores), else ``None``."""
    if not value:
        return None
    scheme = urlsplit(_INVISIBLE.sub("", value)).scheme.lower()
    return value.strip() if scheme in LINK_SCHEMES else None


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.dropping += 1
            return
        if self.dropping or tag not in KEPT_TAGS:
            return
        if tag == "a":
            href = safe_href(dict(attrs).get("href"))
            if href is None:
                self.out.append("<a>")
            else:
                escaped = html.escape(href, quote=True)
                self.out.append(f'<a href="{escaped}" rel="noopener noreferrer" target="_blank">')
        else:
            self.out.append(f"<{tag}>")
        if tag not in EMPTY_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in self.open:
            return
        while self.open:
            closed = self.open.pop()
            self.out.append(f"</{closed}>")
            if closed == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def cleaned(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def clean_html(text: str | None) -> Markup:
    """``text`` (HTML from an API caller) as HTML that is safe to put in a page."""
    if not text:
        return Markup("")
    cleaner = _Cleaner()
    cleaner.feed(text)
    return Markup(cleaner.cleaned())  # noqa: S704 (built above from escaped text and kept tags only)
