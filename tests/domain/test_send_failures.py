"""A failed send is stored in English and shown in its reader's language: the panel reads the stored words
back by the failure's reason, and shows what it cannot read back as stored."""

from __future__ import annotations

import pytest

from panels.i18n import translate
from server.domain.send_failures import (
    FILE_DELETED,
    NUMBER_REMOVED,
    SENDER_UNINSTALLED,
    file_too_large,
    gave_up,
    stored_failure,
)
from server.domain.text import Text


@pytest.mark.parametrize(
    ("reason", "stored", "japanese"),
    [
        ("unknown_from_number", "The WhatsApp number was removed", "WhatsApp 番号が削除されました"),
        (
            "sender_uninstalled",
            "Not sent: WaPipe was uninstalled for the Pipedrive user who sent this message",
            "未送信：このメッセージを送信した Pipedrive ユーザーの WaPipe はアンインストールされました",
        ),
        ("attachment_missing", "The file was deleted in Pipedrive", "ファイルは Pipedrive で削除されました"),
        (
            "attachment_too_large",
            "Angebot (final).pdf is 70 MB; WhatsApp takes up to 64 MB",
            "Angebot (final).pdf は 70 MB です。WhatsApp で送信できるのは 64 MB までです",
        ),
    ],
)
def test_the_send_jobs_own_words_are_read_back_by_their_reason(
    reason: str, stored: str, japanese: str
) -> None:
    shown = stored_failure(reason, stored)
    assert isinstance(shown, Text)
    assert str(shown) == stored
    assert translate(shown, "ja") == japanese


def test_the_stored_english_is_what_the_send_job_words() -> None:
    assert str(NUMBER_REMOVED) == "The WhatsApp number was removed"
    assert str(SENDER_UNINSTALLED).startswith("Not sent: WaPipe was uninstalled")
    assert str(FILE_DELETED) == "The file was deleted in Pipedrive"
    assert str(file_too_large("a.mp4", 70, 64)) == "a.mp4 is 70 MB; WhatsApp takes up to 64 MB"
    assert str(gave_up("WAHA did not answer", 5)) == "WAHA did not answer (gave up after 5 tries)"


def test_a_failure_given_up_on_is_read_back_around_its_message() -> None:
    known = stored_failure("attachment_missing", "The file was deleted in Pipedrive (gave up after 3 tries)")
    assert str(known) == "The file was deleted in Pipedrive (gave up after 3 tries)"
    assert (
        translate(known, "ja")
        == "ファイルは Pipedrive で削除されました（3 回試しましたが送信できませんでした）"
    )
    gateway = stored_failure("gateway_unavailable", "WAHA did not answer (gave up after 5 tries)")
    assert translate(gateway, "ja") == "WAHA did not answer（5 回試しましたが送信できませんでした）"


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("outside_24h_window", "Re-engagement message"),  # a gateway's own words
        ("unknown_from_number", "The WhatsApp number was removed yesterday"),  # not the words of the reason
        ("sender_uninstalled", "The file was deleted in Pipedrive"),  # another reason's words
        ("attachment_too_large", ""),
    ],
)
def test_words_it_cannot_read_back_are_shown_as_stored(reason: str, stored: str) -> None:
    assert stored_failure(reason, stored) == stored
