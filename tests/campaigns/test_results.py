"""What a page and the CSV show for each recipient: the live status from the outbox row, WhatsApp's ticks
and a reply; a number without WhatsApp learnt when sending is a skip; the CSV never runs a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from server.domain.campaigns import RecipientRow, RecipientStatus, SkipReason, live_status
from server.services.campaigns.results import COLUMNS, results_csv

QUEUED = RecipientStatus.QUEUED


@pytest.mark.parametrize(
    ("outbox", "reason", "message", "replied", "expected"),
    [
        (None, "", None, False, (QUEUED, None)),
        ("queued", "", None, False, (QUEUED, None)),
        ("sending", "", None, False, (QUEUED, None)),
        (
            "failed",
            "number_not_on_whatsapp",
            None,
            False,
            (RecipientStatus.SKIPPED, SkipReason.NOT_ON_WHATSAPP),
        ),
        ("failed", "from_disconnected", None, False, (RecipientStatus.FAILED, None)),
        ("sent", "", None, False, (RecipientStatus.SENT, None)),
        ("sent", "", "sent", False, (RecipientStatus.SENT, None)),
        ("sent", "", "delivered", False, (RecipientStatus.DELIVERED, None)),
        ("sent", "", "read", False, (RecipientStatus.READ, None)),
        ("sent", "", "played", False, (RecipientStatus.READ, None)),
        ("sent", "", "failed", False, (RecipientStatus.FAILED, None)),
        ("sent", "", "delivered", True, (RecipientStatus.REPLIED, None)),
    ],
)
def test_a_queued_recipient_shows_how_far_its_message_got(
    outbox: str | None,
    reason: str,
    message: str | None,
    replied: bool,
    expected: tuple[RecipientStatus, SkipReason | None],
) -> None:
    status = live_status(
        QUEUED, None, outbox_status=outbox, outbox_reason=reason, message_status=message, replied=replied
    )
    assert status == expected


def test_pending_and_skipped_are_shown_as_stored() -> None:
    assert live_status(RecipientStatus.PENDING, None, outbox_status=None) == (RecipientStatus.PENDING, None)
    skipped = live_status(RecipientStatus.SKIPPED, SkipReason.DUPLICATE, outbox_status=None)
    assert skipped == (RecipientStatus.SKIPPED, SkipReason.DUPLICATE)


def test_the_csv_has_one_row_per_recipient_and_no_formulas() -> None:
    at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    rows = [
        RecipientRow(
            1,
            10,
            "Maria Kunde",
            "+4917655501234",
            "+4915112345678",
            RecipientStatus.REPLIED,
            sent_at=at,
            delivered_at=at.replace(minute=31),
            read_at=at.replace(minute=32),
            replied_at=at.replace(minute=40),
            queued_at=at,
        ),
        RecipientRow(
            2,
            11,
            '=HYPERLINK("http://x")',
            "=1+1",
            "",
            RecipientStatus.SKIPPED,
            skip=SkipReason.NUMBER_INVALID,
        ),
        RecipientRow(
            3,
            12,
            "Otto",
            "+4917655509999",
            "+4915112345678",
            RecipientStatus.FAILED,
            error="-refused",
            queued_at=at,
        ),
    ]
    table = list(csv.reader(io.StringIO(results_csv(rows))))
    assert tuple(table[0]) == COLUMNS
    maria, formula, otto = (dict(zip(COLUMNS, row, strict=True)) for row in table[1:])
    assert maria["person_id"] == "10" and maria["phone"] == "+4917655501234"
    assert maria["status"] == "replied" and maria["reason"] == ""
    assert maria["sent_at"] == maria["queued_at"] == "2026-12-07T09:30:00+00:00"
    assert maria["delivered_at"] == "2026-12-07T09:31:00+00:00"
    assert maria["read_at"] == "2026-12-07T09:32:00+00:00"
    assert maria["replied_at"] == "2026-12-07T09:40:00+00:00"
    assert otto["delivered_at"] == otto["read_at"] == otto["sent_at"] == ""
    assert formula["name"] == '\'=HYPERLINK("http://x")' and formula["phone"] == "'=1+1"
    assert formula["status"] == "skipped" and formula["reason"] == "number_invalid"
    assert otto["error"] == "'-refused"
