"""Who a campaign writes to, from which number, and who it skips and why: one pure pass over its recipients.

The checks, in order, for each recipient (the first that applies is its ``SkipReason``):

1. ``no_phone``: the Person has no phone.
2. ``number_invalid``: none of its phones reads as a number (national ones in the home region: the first
   chosen number's country).
3. ``duplicate``: the Person was already planned (a Person on several Deals), or another Person with the
   same number was (one message per number).
4. ``excluded_number``: the company excludes the number (settings page).
5. ``opted_out``: the number or the Person opted out: a stop word WaPipe recorded, or the Person's
   "WhatsApp opt-out" field in Pipedrive (``Candidate.opted_out``, whoever set it).
6. ``outside_cloud_window``: the sending number is a Cloud API number, the contact has not written to it in
   the last 24 hours, and the message is no Meta-approved template.

The sending number follows the ``FromMode``: ``fixed`` the first chosen number; ``last_number`` the
chosen (or, with none chosen, any connected) number whose chat with the contact moved last, else the
first; ``round_robin`` the chosen numbers in turn over the recipients not skipped. ``not_on_whatsapp`` is
not decided here: the gateway is asked for a preview's shown rows, and the send learns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from server.domain.campaigns import FromMode, SkipReason
from server.domain.cloud_templates import window_open
from server.domain.phone_numbers import region_of, to_e164

CLOUD = "cloud"


@dataclass(frozen=True, slots=True)
class Sender:
    """A number that may send: its account id, E.164, transport kind and whether it is connected."""

    account_id: int
    e164: str
    transport: str
    connected: bool = True


@dataclass(frozen=True, slots=True)
class Candidate:
    recipient_id: int
    person_id: int
    phones: tuple[str, ...]
    opted_out: bool = False  # Pipedrive's "WhatsApp opt-out" field says so (``RecipientRecord.opted_out``)


@dataclass(frozen=True, slots=True)
class Trace:
    """What the inbox knows about one number (``ContactTrace``, as the planning reads it)."""

    last_account_id: int | None = None
    last_inbound: Mapping[int, datetime] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    recipient_id: int
    e164: str  # "" when no phone reads as a number
    account_id: int | None  # the sending number; None when skipped before one was chosen
    skip: SkipReason | None


@dataclass(frozen=True, slots=True)
class PlanRules:
    from_mode: FromMode
    chosen: tuple[Sender, ...]  # the numbers picked on the compose form, in order
    connected: tuple[Sender, ...]  # every connected number of the company (last_number with none chosen)
    excluded: frozenset[str]
    opted_out_numbers: frozenset[str]
    opted_out_persons: frozenset[int]
    now: datetime
    approved_template: bool = False  # the message is a Meta-approved template: the window does not apply


def home_region(rules: PlanRules) -> str | None:
    for sender in (*rules.chosen, *rules.connected):
        region = region_of(sender.e164) if sender.e164 else None
        if region:
            return region
    return None


def first_number(phones: Sequence[str], region: str | None) -> str | None:
    """The first of the Person's phones (primary first) that reads as a number."""
    for phone in phones:
        e164 = _read(phone, region)
        if e164 is not None:
            return e164
    return None


@lru_cache(maxsize=16384)
def _read(phone: str, region: str | None) -> str | None:  # a preview and its start read the same phones
    return to_e164(phone, region)


def plan(candidates: Sequence[Candidate], rules: PlanRules, traces: Mapping[str, Trace]) -> list[Decision]:
    """One decision per candidate, in order."""
    region = home_region(rules)
    pool = rules.chosen or rules.connected
    persons: set[int] = set()
    numbers: set[str] = set()
    turn = 0
    decisions: list[Decision] = []
    for candidate in candidates:
        e164 = first_number(candidate.phones, region) if candidate.phones else None
        skip: SkipReason | None = None
        if not candidate.phones:
            skip = SkipReason.NO_PHONE
        elif e164 is None:
            skip = SkipReason.NUMBER_INVALID
        elif candidate.person_id in persons or e164 in numbers:
            skip = SkipReason.DUPLICATE
        elif e164 in rules.excluded:
            skip = SkipReason.EXCLUDED_NUMBER
        elif (
            candidate.opted_out
            or e164 in rules.opted_out_numbers
            or candidate.person_id in rules.opted_out_persons
        ):
            skip = SkipReason.OPTED_OUT
        persons.add(candidate.person_id)
        if e164 is not None:
            numbers.add(e164)
        if skip is not None or e164 is None or not pool:
            decisions.append(Decision(candidate.recipient_id, e164 or "", None, skip))
            continue
        trace = traces.get(e164, Trace())
        sender = _sender(rules.from_mode, pool, trace, turn)
        if rules.from_mode is FromMode.ROUND_ROBIN:
            turn += 1
        wrote = (trace.last_inbound or {}).get(sender.account_id)
        if sender.transport == CLOUD and not rules.approved_template and not window_open(wrote, rules.now):
            skip = SkipReason.OUTSIDE_CLOUD_WINDOW
        decisions.append(Decision(candidate.recipient_id, e164, sender.account_id, skip))
    return decisions


def _sender(mode: FromMode, pool: Sequence[Sender], trace: Trace, turn: int) -> Sender:
    if mode is FromMode.ROUND_ROBIN:
        return pool[turn % len(pool)]
    if mode is FromMode.LAST_NUMBER and trace.last_account_id is not None:
        for sender in pool:
            if sender.account_id == trace.last_account_id:
                return sender
    return pool[0]


def skipped_counts(decisions: Sequence[Decision]) -> dict[SkipReason, int]:
    counts: dict[SkipReason, int] = {}
    for decision in decisions:
        if decision.skip is not None:
            counts[decision.skip] = counts.get(decision.skip, 0) + 1
    return counts
