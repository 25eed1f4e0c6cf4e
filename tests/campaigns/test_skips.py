"""Who a campaign skips and why, and which number writes: the pure planning pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.domain.campaign_skips import Candidate, PlanRules, Sender, Trace, plan, skipped_counts
from server.domain.campaigns import FromMode, SkipReason

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ANNA = Sender(1, "+4915112345678", "waha")
BEN = Sender(2, "+4915187654321", "waha")
CLOUD = Sender(3, "+4930123456", "cloud")


def rules(**changes: object) -> PlanRules:
    values: dict[str, object] = {
        "from_mode": FromMode.FIXED,
        "chosen": (ANNA,),
        "connected": (ANNA, BEN, CLOUD),
        "excluded": frozenset(),
        "opted_out_numbers": frozenset(),
        "opted_out_persons": frozenset(),
        "now": NOW,
    }
    values.update(changes)
    return PlanRules(**values)  # type: ignore[arg-type]


def one(phones: tuple[str, ...], **changes: object) -> tuple[str, int | None, SkipReason | None]:
    [decision] = plan([Candidate(1, 10, phones)], rules(**changes), {})
    return decision.e164, decision.account_id, decision.skip


def test_a_person_with_a_valid_number_is_written_to_from_the_chosen_number() -> None:
    assert one(("+49 176 55501234",)) == ("+4917655501234", 1, None)


def test_a_national_number_reads_in_the_sending_numbers_country() -> None:
    assert one(("0176 5550 1234",)) == ("+4917655501234", 1, None)


def test_no_phone_and_invalid_numbers_are_skipped_by_name() -> None:
    assert one(()) == ("", None, SkipReason.NO_PHONE)
    assert one(("+1 23",)) == ("", None, SkipReason.NUMBER_INVALID)
    assert one(("call the office",)) == ("", None, SkipReason.NUMBER_INVALID)


def test_the_first_phone_that_reads_as_a_number_is_used() -> None:
    assert one(("n/a", "+49 176 55501234")) == ("+4917655501234", 1, None)


def test_excluded_and_opted_out_numbers_and_persons_are_skipped() -> None:
    number = "+4917655501234"
    assert one((number,), excluded=frozenset({number}))[2] is SkipReason.EXCLUDED_NUMBER
    assert one((number,), opted_out_numbers=frozenset({number}))[2] is SkipReason.OPTED_OUT
    assert one((number,), opted_out_persons=frozenset({10}))[2] is SkipReason.OPTED_OUT


def test_a_person_opted_out_in_pipedrive_is_skipped_and_their_number_not_written_to_again() -> None:
    candidates = [
        Candidate(1, 10, ("+4917655501234",), opted_out=True),  # the field set in Pipedrive, by anyone
        Candidate(2, 11, ("+49 176 55501234",)),  # another Person with that number
        Candidate(3, 12, ("+4917655509999",)),
    ]
    decisions = plan(candidates, rules(), {})
    assert [d.skip for d in decisions] == [SkipReason.OPTED_OUT, SkipReason.DUPLICATE, None]


def test_one_message_per_person_and_per_number() -> None:
    candidates = [
        Candidate(1, 10, ("+4917655501234",)),  # Maria through deal A
        Candidate(2, 10, ("+4917655501234",)),  # Maria again through deal B
        Candidate(3, 11, ("+49 176 55501234",)),  # her husband, same number
        Candidate(4, 12, ("+4917655509999",)),
    ]
    decisions = plan(candidates, rules(), {})
    assert [d.skip for d in decisions] == [None, SkipReason.DUPLICATE, SkipReason.DUPLICATE, None]
    assert skipped_counts(decisions) == {SkipReason.DUPLICATE: 2}


def test_round_robin_takes_the_chosen_numbers_in_turn_over_those_not_skipped() -> None:
    candidates = [
        Candidate(1, 10, ("+4917655500001",)),
        Candidate(2, 11, ()),  # skipped: does not take a turn
        Candidate(3, 12, ("+4917655500003",)),
        Candidate(4, 13, ("+4917655500004",)),
    ]
    decisions = plan(candidates, rules(from_mode=FromMode.ROUND_ROBIN, chosen=(ANNA, BEN)), {})
    assert [d.account_id for d in decisions] == [1, None, 2, 1]


def test_last_number_uses_the_number_that_last_talked_else_the_first_chosen() -> None:
    traces = {"+4917655500001": Trace(last_account_id=2), "+4917655500002": Trace(last_account_id=99)}
    candidates = [
        Candidate(1, 10, ("+4917655500001",)),
        Candidate(2, 11, ("+4917655500002",)),  # last talked to a number not chosen
        Candidate(3, 12, ("+4917655500003",)),  # never talked
    ]
    decisions = plan(candidates, rules(from_mode=FromMode.LAST_NUMBER, chosen=(ANNA, BEN)), traces)
    assert [d.account_id for d in decisions] == [2, 1, 1]


def test_a_cloud_number_writes_only_inside_the_24_hour_window_unless_the_template_is_approved() -> None:
    fresh, stale = "+4917655500001", "+4917655500002"
    traces = {
        fresh: Trace(last_inbound={3: NOW - timedelta(hours=23)}),
        stale: Trace(last_inbound={3: NOW - timedelta(hours=25), 1: NOW}),  # wrote to another number
    }
    candidates = [
        Candidate(1, 10, (fresh,)),
        Candidate(2, 11, (stale,)),
        Candidate(3, 12, ("+4917655500003",)),
    ]
    decisions = plan(candidates, rules(chosen=(CLOUD,)), traces)
    assert [d.skip for d in decisions] == [
        None,
        SkipReason.OUTSIDE_CLOUD_WINDOW,
        SkipReason.OUTSIDE_CLOUD_WINDOW,
    ]
    approved = plan(candidates, rules(chosen=(CLOUD,), approved_template=True), traces)
    assert [d.skip for d in approved] == [None, None, None]


def test_a_waha_number_has_no_window() -> None:
    assert one(("+4917655500001",), chosen=(ANNA,))[2] is None
