"""The reader's language: which one a request asks for, catalogues read from their .po source (fuzzy and
empty entries left out, files merged), ``Text`` rendered in it, numbers and moments written its way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from panels import i18n
from panels.templating import environment
from server.domain.text import Text, ntext, ptext

HEADER = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

"""


@pytest.fixture
def catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "a.po").write_text(
        HEADER
        + 'msgid "Send"\nmsgstr "送信"\n\n'
        + 'msgid "Sent to %(number)s"\nmsgstr "%(number)s に送信しました"\n\n'
        + '#, fuzzy\nmsgid "Cancel"\nmsgstr "取り消しかも"\n\n'
        + 'msgid "Refresh"\nmsgstr ""\n',
        encoding="utf-8",
    )
    (folder / "b.po").write_text(
        HEADER
        + 'msgid "%(count)s chat"\nmsgid_plural "%(count)s chats"\nmsgstr[0] "%(count)s 件のチャット"\n\n'
        + 'msgid "From %(name)s"\nmsgstr "%(name)s から"\n\n'
        + 'msgid "Contact"\nmsgstr "相手"\n\n'
        + 'msgctxt "shared contact"\nmsgid "Contact"\nmsgstr "連絡先"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    environment.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()
    environment.cache_clear()


@pytest.mark.parametrize(
    ("tag", "code"),
    [("ja", "ja"), ("ja_JP", "ja"), ("JA-jp", "ja"), ("en_US", "en"), ("de", None), ("", None), (None, None)],
)
def test_a_language_tag_asks_for_one_of_ours(tag: str | None, code: str | None) -> None:
    assert i18n.supported(tag) == code


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("ja,en-US;q=0.9,en;q=0.8", "ja"),
        ("de-DE,de;q=0.9,ja;q=0.8,en;q=0.7", "ja"),  # German first, which we do not have
        ("en;q=0.5, ja;q=0.9", "ja"),  # by quality, not by order
        ("ja;q=0, en", "en"),  # q=0 means "not this one"
        ("ja;q=zero, en", "en"),
        ("fr, de", None),
        ("", None),
        (None, None),
    ],
)
def test_the_browser_language_we_have(header: str | None, code: str | None) -> None:
    assert i18n.from_accept_language(header) == code


def test_catalogues_are_merged_and_fuzzy_or_empty_entries_read_as_english(catalogues: Path) -> None:
    ja = i18n.translations("ja")
    assert ja.gettext("Send") == "送信"
    assert ja.gettext("From %(name)s") == "%(name)s から"  # from the second file
    assert ja.gettext("Cancel") == "Cancel"  # fuzzy: a guess is not shown
    assert ja.gettext("Refresh") == "Refresh"  # not translated yet
    assert ja.ngettext("%(count)s chat", "%(count)s chats", 5) == "%(count)s 件のチャット"
    assert i18n.translations("en").gettext("Send") == "Send"
    assert i18n.translations("de").gettext("Send") == "Send"


def test_text_renders_in_the_language_asked_for_and_is_english_as_a_string(catalogues: Path) -> None:
    sent = Text("Sent to %(number)s", number="+49 176 1234")
    assert str(sent) == "Sent to +49 176 1234"
    assert i18n.translate(sent, "ja") == "+49 176 1234 に送信しました"
    assert i18n.translate(sent, "en") == "Sent to +49 176 1234"
    nested = Text("From %(name)s", name=Text("Send"))
    assert i18n.translate(nested, "ja") == "送信 から"
    assert str(nested) == "From Send"
    chats = ntext("%(count)s chat", "%(count)s chats", 1)
    assert (str(chats), str(ntext("%(count)s chat", "%(count)s chats", 3))) == ("1 chat", "3 chats")
    assert i18n.translate(ntext("%(count)s chat", "%(count)s chats", 3), "ja") == "3 件のチャット"
    assert i18n.translate("already words", "ja") == "already words"
    assert (
        sent == Text("Sent to %(number)s", number="+49 176 1234") != Text("Sent to %(number)s", number="+1")
    )


def test_one_english_word_with_two_meanings_is_translated_by_its_context(catalogues: Path) -> None:
    card, person = ptext("shared contact", "Contact"), Text("Contact")
    assert (i18n.translate(card, "ja"), i18n.translate(person, "ja")) == ("連絡先", "相手")
    assert str(card) == str(person) == "Contact"
    assert card != person


def test_the_request_language_is_held_per_context() -> None:
    assert i18n.language() == "en"
    with i18n.speaking("ja"):
        assert i18n.language() == "ja"
        with i18n.speaking("xx"):
            assert i18n.language() == "en"  # a language we do not have is English
        assert i18n.language() == "ja"
    assert i18n.language() == "en"


def test_templates_translate_marked_words_and_text_values(catalogues: Path) -> None:
    page = environment("ja").from_string(
        '<html lang="{{ language }}"><b>{{ _("Send") }}</b> '
        "{% trans number=to %}Sent to {{ number }}{% endtrans %} {{ sent }} {{ 4096 | number }}</html>"
    )
    sent = Text("From %(name)s", name="<Anna>")
    expected = '<html lang="ja"><b>送信</b> +49 に送信しました &lt;Anna&gt; から 4,096</html>'
    assert page.render(to="+49", sent=sent) == expected
    english = environment("en").from_string("{{ _('Send') }} {{ sent }} {{ 1234567.5 | number }}")
    assert english.render(sent=sent) == "Send From &lt;Anna&gt; 1,234,567.5"


def test_values_in_translated_sentences_are_escaped_and_neutralised(catalogues: Path) -> None:
    page = environment("ja").from_string(
        '{{ _("From %(name)s", name=who) }}|{% trans who=who %}From {{ who }}{% endtrans %}|'
        '{{ ngettext("%(count)s chat", "%(count)s chats", 2, count=2) }}'
    )
    who = "<b>fdp.exe\u202e</b>"
    assert (
        page.render(who=who)
        == "&lt;b&gt;fdp.exe&lt;/b&gt; から|From &lt;b&gt;fdp.exe&lt;/b&gt;|2 件のチャット"
    )


def test_numbers_and_moments_are_written_the_languages_way() -> None:
    assert i18n.number(4096, "en") == "4,096"
    assert i18n.number(4096, "ja") == "4,096"
    at = datetime(2026, 12, 6, 9, 5, tzinfo=timezone(timedelta(hours=9)))
    assert i18n.moment(at, "short", "ja") == "2026/12/06 9:05"
    assert i18n.moment(at.astimezone(UTC), "short", "en") == "12/6/26, 12:05\u202fAM"
