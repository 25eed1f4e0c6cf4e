"""A campaign's results as CSV: one row per recipient, in the campaign's order, for a spreadsheet.

Columns: ``person_id, name, phone, from, status, reason, sent_at, queued_at, delivered_at, read_at,
replied_at, error``; times are ISO 8601 in UTC, empty when unknown (``delivered_at`` and ``read_at`` are when
WaPipe received the message's first delivered and read tick; a contact who turned read receipts off never
sends the read one). A cell a
spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@`` first) gets a leading apostrophe, except a
phone number written as one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime

from server.domain.campaigns import RecipientRow

COLUMNS = (
    "person_id",
    "name",
    "phone",
    "from",
    "status",
    "reason",
    "sent_at",
    "queued_at",
    "delivered_at",
    "read_at",
    "replied_at",
    "error",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"\+?[0-9 ()./-]+")


def cell(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def phone_cell(value: str) -> str:
    return value if _PHONE.fullmatch(value) else cell(value)


def _time(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def results_csv(rows: Sequence[RecipientRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.person_id,
                cell(row.name),
                phone_cell(row.phone),
                row.from_number,
                row.status.value,
                row.skip.value if row.skip is not None else "",
                _time(row.sent_at),
                _time(row.queued_at),
                _time(row.delivered_at),
                _time(row.read_at),
                _time(row.replied_at),
                cell(row.error),
            )
        )
    return out.getvalue()
