"""Approved templates in the domain: their variables, mapping them to placeholders (refused by name), filling
them for one contact, the picker's preview and the 24-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain.cloud_templates import (
    ApprovedTemplate,
    TemplateSend,
    body_variables,
    check_mapping,
    choice,
    fill,
    outbound_template,
    placeholder_body,
    split_key,
    stored_parameters,
    window_open,
)
from server.domain.errors import InvalidInput
from server.domain.message_templates import known_fields
from server.domain.whatsapp import Template

KNOWN = known_fields({})
ORDER = ApprovedTemplate("order_update", "en_US", "UTILITY", "Hello {{1}}, your order {{2}} is on its way.")
REMINDER = ApprovedTemplate(
    "appointment_reminder",
    "en_US",
    "UTILITY",
    "Hi {{first_name}}, see you {{day}}, {{first_name}}!",
    named=True,
)
VALUES = {"person": {"first_name": "Maria", "name": "Maria Kunde"}, "me": {"name": "Anna Admin"}}


def test_positional_variables_are_numbered_and_named_ones_in_order_of_first_use() -> None:
    assert body_variables("{{2}} {{1}} {{2}} {{ 10 }}", named=False) == ("1", "2", "10")
    assert body_variables("{{day}} {{first_name}} {{day}}", named=True) == ("day", "first_name")
    assert REMINDER.variables == ("first_name", "day")
    assert ORDER.key == "order_update:en_US"


def test_a_mapping_is_stored_without_braces_and_checked_against_the_fields() -> None:
    mapping = check_mapping(
        ORDER, {"1": "{{person.first_name|there}}", "2": " deal.title|your order "}, KNOWN
    )
    assert mapping == {"1": "person.first_name|there", "2": "deal.title|your order"}


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        ({"1": "person.first_name"}, "unmapped_template_variable"),
        ({"1": "person.first_name", "2": ""}, "unmapped_template_variable"),
        ({"1": "person.first_name", "2": "me.name", "9": "me.name"}, "unknown_template_variable"),
        ({"1": "person.nickname", "2": "me.name"}, "unknown_template_field"),
        ({"1": "boss.name", "2": "me.name"}, "unknown_template_field"),
        ({"1": "person.first_name}} {{me.name", "2": "me.name"}, "template_syntax"),
        ({"1": "hello", "2": "me.name"}, "template_syntax"),
    ],
)
def test_a_mapping_that_cannot_be_filled_is_refused_by_name(mapping: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_mapping(ORDER, mapping, KNOWN)
    assert caught.value.reason == reason


def test_filling_renders_each_parameter_with_its_fallback_and_the_body() -> None:
    sent = fill(ORDER, {"1": "person.first_name|there", "2": "deal.title|A-17"}, VALUES)
    assert sent == TemplateSend(
        name="order_update",
        language="en_US",
        parameters=("Maria", "A-17"),
        body="Hello Maria, your order A-17 is on its way.",
    )


def test_a_named_template_carries_its_names_and_fills_a_repeated_variable_each_time() -> None:
    sent = fill(REMINDER, {"first_name": "person.first_name", "day": "deal.title|soon"}, VALUES)
    assert (sent.parameters, sent.parameter_names) == (("Maria", "soon"), ("first_name", "day"))
    assert sent.body == "Hi Maria, see you soon, Maria!"


def test_a_value_that_looks_like_a_variable_is_not_read_again() -> None:
    values = {"person": {"first_name": "{{2}}"}, "deal": {"title": "X"}}
    sent = fill(ORDER, {"1": "person.first_name", "2": "deal.title"}, values)
    assert sent.body == "Hello {{2}}, your order X is on its way."


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        ({"1": "person.first_name"}, "unmapped_template_variable"),
        ({"1": "person.first_name", "2": "deal.title"}, "empty_template_parameter"),
    ],
)
def test_a_parameter_that_would_be_empty_or_unmapped_is_refused(mapping: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        fill(ORDER, mapping, VALUES)
    assert caught.value.reason == reason


def test_the_picker_previews_what_can_be_filled_and_names_what_cannot() -> None:
    ready = choice(ORDER, {"1": "person.first_name", "2": "deal.title|A-17"}, VALUES)
    assert (ready.mapped, ready.preview, ready.missing) == (
        True,
        "Hello Maria, your order A-17 is on its way.",
        (),
    )
    missing = choice(ORDER, {"1": "person.first_name", "2": "deal.title"}, VALUES)
    assert (missing.mapped, missing.preview, missing.missing) == (True, "", ("{{deal.title}}",))
    empty_fallback = choice(ORDER, {"1": "person.first_name", "2": "deal.title|"}, VALUES)
    assert (empty_fallback.preview, empty_fallback.missing) == ("", ("{{deal.title|}}",))
    unmapped = choice(ORDER, None, VALUES)
    assert (unmapped.mapped, unmapped.preview) == (False, "")
    plain = ApprovedTemplate("welcome_back", "en_US", "MARKETING", "Welcome back!")
    assert choice(plain, None, {}).preview == "Welcome back!"


def test_the_body_with_its_placeholders_is_the_same_message_as_text() -> None:
    text = placeholder_body(ORDER, {"1": "person.first_name|there", "2": "deal.title"})
    assert text == "Hello {{person.first_name|there}}, your order {{deal.title}} is on its way."
    named = placeholder_body(REMINDER, {"first_name": "person.first_name", "day": "me.name"})
    assert named == "Hi {{person.first_name}}, see you {{me.name}}, {{person.first_name}}!"
    looks_like_a_variable = placeholder_body(ORDER, {"1": "person.first_name|{{2}}", "2": "deal.title"})
    assert looks_like_a_variable.startswith("Hello {{person.first_name|{{2}}}}, your")  # not read again
    with pytest.raises(InvalidInput) as refused:
        placeholder_body(ORDER, {"1": "person.first_name"})
    assert refused.value.reason == "unmapped_template_variable"


def test_the_window_is_open_for_24_hours_after_the_contacts_last_message() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert window_open(now - timedelta(hours=23, minutes=59, seconds=59), now)
    assert not window_open(now - timedelta(hours=24), now)
    assert not window_open(None, now)


def test_stored_parameters_come_back_as_the_template_sent() -> None:
    sent = TemplateSend("appointment_reminder", "en_US", ("Maria", "soon"), ("first_name", "day"), "…")
    assert outbound_template(sent.name, sent.language, stored_parameters(sent)) == Template(
        "appointment_reminder", "en_US", ("Maria", "soon"), ("first_name", "day")
    )
    assert outbound_template("welcome_back", "en_US", "not json") == Template("welcome_back", "en_US")


@pytest.mark.parametrize("key", ["", "order_update", ":en_US", "Order Update:en_US", "a:"])
def test_a_template_key_not_in_name_language_form_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        split_key(key)
    assert caught.value.reason == "unknown_template"
