"""Pipedrive's records as a template reads them: values as plain text, standard fields, custom fields by
name with their options' labels; every expected value written out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from server.pipedrive.template_records import CustomField, as_text, custom_values, standard_values


@pytest.mark.parametrize(
    ("value", "options", "text"),
    [
        (None, None, ""),
        (1500.0, None, "1500"),
        (12.5, None, "12.5"),
        (7, {"7": "Gold"}, "Gold"),
        ("8", {"8": "Silver"}, "Silver"),
        ([7, 9], {"7": "Gold", "9": "Bronze"}, "Gold, Bronze"),
        ({"value": 200, "currency": "EUR"}, None, "200 EUR"),
        (
            {"value": "Hauptstr. 1", "formatted_address": "Hauptstr. 1, 10115 Berlin"},
            None,
            "Hauptstr. 1, 10115 Berlin",
        ),
        ({"name": "Acme GmbH", "value": None}, None, ""),
        (True, None, "yes"),
    ],
)
def test_values_read_as_plain_text(value: Any, options: dict[str, str] | None, text: str) -> None:
    assert as_text(value, options) == text


def test_a_persons_standard_fields_and_custom_fields_by_name() -> None:
    raw = {
        "name": "Maria Kunde",
        "first_name": "Maria",
        "last_name": "Kunde",
        "emails": [{"value": "old@x.test", "primary": False}, {"value": "maria@x.test", "primary": True}],
        "phones": [{"value": "+49 176 55501234", "primary": True}],
        "custom_fields": {"abc": 3, "def": "Deutsch"},
    }
    assert standard_values("person", raw) == {
        "name": "Maria Kunde",
        "first_name": "Maria",
        "last_name": "Kunde",
        "email": "maria@x.test",
        "phone": "+49 176 55501234",
    }
    fields = (
        CustomField("abc", "Tier", {"3": "Gold"}),
        CustomField("def", "Preferred language"),
        CustomField("ghi", "Empty one"),
    )
    assert custom_values(raw, fields) == {"tier": "Gold", "preferred_language": "Deutsch", "empty_one": ""}


def test_a_name_alone_gives_first_and_last_names() -> None:
    values = standard_values("person", {"name": "Lena Maria Sprache"})
    assert (values["first_name"], values["last_name"], values["email"]) == ("Lena", "Maria Sprache", "")


def test_a_deals_and_an_organizations_standard_fields() -> None:
    deal = {"title": "Order 42", "value": 1500, "currency": "EUR", "status": "open"}
    assert standard_values("deal", deal) == {
        "title": "Order 42",
        "value": "1500",
        "currency": "EUR",
        "status": "open",
    }
    org = {"name": "Acme GmbH", "address": {"value": "Hauptstr. 1, Berlin"}}
    assert standard_values("org", org) == {"name": "Acme GmbH", "address": "Hauptstr. 1, Berlin"}
