"""Every word a person reads is translated: each message the templates and the code mark (``_()``,
``{% trans %}``, ``Text()``, ``ntext()``) has a Japanese translation with the same placeholders, and no
template has words outside those marks (an English word on a Japanese page is a bug)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

from tests.i18n.visible_words import latin_words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
KEYWORDS = {**DEFAULT_KEYWORDS, "Text": (1,), "ntext": (1, 2), "ptext": ((1, "c"), 2)}
METHODS = [
    ("server/**.py", "python"),
    ("panels/**.py", "python"),
    ("templates/**.html", "jinja2.ext:babel_extract"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


Key = tuple[str | None, str]  # (context, message id)


def marked() -> dict[Key, tuple[str, ...]]:
    """Every marked message by its context and id: its forms (two for a counted one)."""
    found: dict[Key, tuple[str, ...]] = {}
    for _file, _line, message, _, context in extract_from_dir(ROOT, METHODS, OPTIONS, keywords=KEYWORDS):
        forms = message if isinstance(message, tuple) else (message,)
        if forms[0]:
            found.setdefault((context, forms[0]), tuple(f for f in forms if f))
    return found


def catalogue_files() -> list[Path]:
    return sorted((ROOT / "locale" / "ja" / "LC_MESSAGES").glob("*.po"))


def japanese() -> dict[Key, tuple[tuple[str, ...], bool]]:
    """The Japanese catalogues, merged: (context, message id) → (its translations, marked fuzzy)."""
    entries: dict[Key, tuple[tuple[str, ...], bool]] = {}
    for po in catalogue_files():
        with po.open("rb") as source:
            for message in read_po(source, locale="ja"):
                key = message.id if isinstance(message.id, str) else message.id[0]
                if key:
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    entries[(message.context, key)] = (tuple(strings), message.fuzzy)
    return entries


def test_each_message_is_translated_in_one_catalogue_only() -> None:
    """A word two parts of the product share reads the same in both: it lives in common.po."""
    seen: dict[Key, list[str]] = {}
    for po in catalogue_files():
        with po.open("rb") as source:
            for message in read_po(source, locale="ja"):
                key = message.id if isinstance(message.id, str) else message.id[0]
                if key:
                    seen.setdefault((message.context, key), []).append(po.name)
    assert {key: files for key, files in seen.items() if len(files) > 1} == {}


def test_every_marked_message_has_a_japanese_translation_with_its_placeholders() -> None:
    messages, catalogue = marked(), japanese()
    untranslated = sorted(m for m in messages if m not in catalogue or not all(catalogue[m][0]))
    fuzzy = sorted(m for m in messages if m in catalogue and catalogue[m][1])
    assert untranslated == [], f"{len(untranslated)} messages have no Japanese (run `make messages`)"
    assert fuzzy == [], "fuzzy translations are not used: review them"
    wrong = []
    for key, forms in messages.items():
        wanted = set().union(*(set(PLACEHOLDER.findall(form)) for form in forms)) - {""}
        for translation in catalogue[key][0]:
            # Japanese has one plural form; it may leave out %(count)s only where the id's singular does.
            if set(PLACEHOLDER.findall(translation)) - {""} != wanted:
                wrong.append((key, translation))
    assert wrong == [], "a translation must use exactly its message's placeholders"


def words_outside_translation(source: str) -> list[str]:
    """The template's words a reader sees that no ``{% trans %}`` block or ``_()`` call holds."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    html: list[str] = []
    depth = 0  # inside {% trans %} ... {% endtrans %}
    previous: list[str] = []
    for _, kind, value in env.lex(source):
        if kind == "name" and previous[-1:] == ["block_begin"]:
            if value == "trans":
                depth += 1
            elif value == "endtrans":
                depth -= 1
        if kind == "data" and not depth:
            html.append(value)
        elif kind in ("variable_begin", "block_begin") and not depth:
            html.append("\x00")  # what an expression prints is checked where it comes from
        if kind != "whitespace":
            previous.append(kind)
    return latin_words("".join(html).replace("\x00", " "))


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))
)
def test_no_template_has_words_outside_translation(template: str) -> None:
    assert words_outside_translation((TEMPLATES / template).read_text()) == []


def test_the_checker_finds_words_outside_translation() -> None:
    assert words_outside_translation("<p>Send {{ name }}</p>") == ["Send"]
    assert words_outside_translation('<input placeholder="Type a message">') == ["Type", "message"]
    assert (
        words_outside_translation('<b title="{{ _("Sent") }}">{% trans %}Sent to {{ n }}{% endtrans %}</b>')
        == []
    )
    assert words_outside_translation("<script>const x = 'Hello';</script><p>WaPipe · WhatsApp</p>") == []
    assert words_outside_translation('<input type="submit" value="Save">') == ["Save"]
    assert words_outside_translation('<p data-text-left="characters left">{{ _("Hi") }}</p>') == [
        "characters",
        "left",
    ]
