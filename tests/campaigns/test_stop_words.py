"""Stop words: the whole reply, trimmed, any case, accents or not."""

from __future__ import annotations

import pytest

from server.domain.errors import InvalidInput
from server.domain.stop_words import DEFAULT_STOP_WORDS, clean_stop_words, matching_stop_word, opt_out_line


@pytest.mark.parametrize(
    ("reply", "word"),
    [
        ("STOP", "STOP"),
        ("  stop  ", "STOP"),
        ("Stop!", "STOP"),
        ("unsubscribe.", "UNSUBSCRIBE"),
        ("arret", "ARRET"),
        ("Arrêt", "ARRET"),  # accents do not matter: the first word that compares equal
        ("ＳＴＯＰ", "STOP"),  # full-width letters
        ("配信停止", "配信停止"),
        ("停止。", "停止"),
        ("Baja", "BAJA"),
    ],
)
def test_a_stop_word_alone_is_an_opt_out(reply: str, word: str) -> None:
    assert matching_stop_word(reply, DEFAULT_STOP_WORDS) == word


@pytest.mark.parametrize(
    "reply", ["please stop calling me at work", "stopp it", "", "   ", "STOP" * 60, "top"]
)
def test_anything_else_is_not(reply: str) -> None:
    assert matching_stop_word(reply, DEFAULT_STOP_WORDS) is None


def test_a_companys_own_words_replace_the_defaults() -> None:
    words = clean_stop_words(["  Basta ", "basta", "", "Genug"])
    assert words == ("Basta", "Genug")
    assert matching_stop_word("BASTA", words) == "Basta"
    assert matching_stop_word("stop", words) is None


def test_an_empty_or_oversized_list_is_refused_by_name() -> None:
    for words in ([], ["  "], ["x" * 41], [f"w{n}" for n in range(51)]):
        with pytest.raises(InvalidInput) as refused:
            clean_stop_words(words)
        assert refused.value.reason == "invalid_stop_words"


def test_the_opt_out_line_names_the_word() -> None:
    assert str(opt_out_line("STOP")) == "Reply STOP to unsubscribe"
