"""The clock, the scheduler, deterministic ids and phone-number variants."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from sandbox.waha import clock as clock_module
from sandbox.waha.clock import DEFAULT_START_MS, Clock, Scheduler
from sandbox.waha.ids import IdFactory
from sandbox.waha.jids import digits, engine_jid, normalize_chat_id, phone_variants


def test_frozen_clock_moves_only_when_told() -> None:
    clock = Clock()
    assert clock.now_ms() == DEFAULT_START_MS
    assert clock.advance(1.5) == DEFAULT_START_MS + 1500
    assert clock.now_s() == (DEFAULT_START_MS + 1500) // 1000
    clock.set_ms(5)
    assert clock.now_ms() == 5
    clock.reset()
    assert clock.now_ms() == DEFAULT_START_MS


def test_wall_clock_follows_time() -> None:
    clock = Clock(follow_wall_clock=True)
    before = clock.now_ms()
    clock.advance(60)
    assert clock.now_ms() >= before + 60_000


def test_a_clock_that_follows_the_wall_clock_starts_over_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = SimpleNamespace(seconds=1_800_000_000.0)
    monkeypatch.setattr(clock_module, "time", SimpleNamespace(time=lambda: wall.seconds))
    following = Clock(follow_wall_clock=True)
    behind = Clock(1_800_000_000_000 - 600_000, follow_wall_clock=True)  # ten minutes behind
    following.advance(3600)  # an earlier test moved it on
    behind.set_ms(5)
    wall.seconds += 7200  # time passes while the sandbox runs

    following.reset()
    behind.reset()
    assert following.now_ms() == 1_800_007_200_000
    assert behind.now_ms() == 1_800_007_200_000 - 600_000  # as far behind as it started
    wall.seconds += 30
    assert following.now_ms() == 1_800_007_230_000


def test_scheduler_runs_due_jobs_in_order() -> None:
    clock = Clock()
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler.after(2, lambda: ran.append("b"), "b")
    scheduler.after(1, lambda: ran.append("a"), "a")
    job = scheduler.after(1, lambda: ran.append("cancelled"), "c")
    job.cancelled = True
    scheduler.after(0, lambda: scheduler.after(0, lambda: ran.append("chained")))
    assert scheduler.run_due() == 2 and ran == ["chained"]
    clock.advance(1)
    scheduler.run_due()
    assert ran == ["chained", "a"]
    assert scheduler.next_due_ms() == clock.now_ms() + 1000
    assert scheduler.pending() == ["b"]
    scheduler.clear()
    assert scheduler.next_due_ms() is None


def test_ids_are_deterministic_and_well_formed() -> None:
    first, second = IdFactory("seed"), IdFactory("seed")
    assert [first.message_id() for _ in range(3)] == [second.message_id() for _ in range(3)]
    assert re.fullmatch(r"3EB0[0-9A-F]{18}", first.message_id())
    event = first.event_id(DEFAULT_START_MS)
    assert re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", event)
    assert first.event_id(DEFAULT_START_MS + 1)[4:14] > event[4:14]  # ULIDs sort by time
    assert re.fullmatch(r"\d{15}", first.lid())
    assert re.fullmatch(r"1203634\d{11}@g\.us", first.group_id())
    assert re.fullmatch(r"[A-Z1-9]{4}-[A-Z1-9]{4}", first.pairing_code())
    assert IdFactory("other").message_id() != IdFactory("seed").message_id()
    first.reset()
    assert first.message_id() == IdFactory("seed").message_id()


def test_jid_helpers() -> None:
    assert digits("+55 (11) 98765-4321") == "5511987654321"
    assert digits("5511987654321:12@s.whatsapp.net") == "5511987654321"
    assert normalize_chat_id("5511987654321@s.whatsapp.net") == "5511987654321@c.us"
    assert normalize_chat_id("+49 151 1234") == "491511234@c.us"
    assert normalize_chat_id("123@g.us") == "123@g.us"
    assert engine_jid("49151@c.us") == "49151@s.whatsapp.net"
    assert engine_jid("123@lid") == "123@lid"


def test_phone_variants() -> None:
    assert phone_variants("5521998887777") == ["552198887777"]
    assert phone_variants("552198887777") == ["5521998887777"]
    assert phone_variants("552133334444") == []  # a landline never had the ninth digit
    assert phone_variants("5215512345678") == ["525512345678"]
    assert phone_variants("525512345678") == ["5215512345678"]
    assert phone_variants("5491123456789") == ["541123456789"]
    assert phone_variants("541123456789") == ["5491123456789"]
    assert phone_variants("4915112345678") == []
