"""The placeholder grammar, checking a template's fields and rendering it, and the checks a saved template
passes; every expected value written out by hand."""

from __future__ import annotations

import pytest

from server.domain.errors import InvalidInput
from server.domain.message_templates import TemplateDraft, TemplateScope, check_draft, known_fields
from server.domain.templates import (
    check_template,
    field_key,
    missing_values,
    placeholders,
    render,
)

KNOWN = known_fields({"person": ["Preferred language"], "deal": ["Lost reason"]})
VALUES = {
    "person": {"name": "Maria Kunde", "first_name": "Maria", "email": "", "preferred_language": "Deutsch"},
    "deal": {"title": "Order 42", "value": "1500"},
    "me": {"name": "Anna Admin"},
}


def test_placeholders_are_read_with_their_object_field_and_fallback() -> None:
    found = placeholders("Hi {{ Person.First Name | there }}, {{deal.title}}{{me.name|}}")
    assert [(p.source, p.object, p.field, p.key, p.fallback) for p in found] == [
        ("{{ Person.First Name | there }}", "person", "First Name", "first_name", "there"),
        ("{{deal.title}}", "deal", "title", "title", None),
        ("{{me.name|}}", "me", "name", "name", ""),
    ]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("First Name", "first_name"),
        ("first-name", "first_name"),
        ("  Preferred   language ", "preferred_language"),
    ],
)
def test_field_names_compare_as_keys(name: str, key: str) -> None:
    assert field_key(name) == key


def test_rendering_fills_values_fallbacks_and_nothing() -> None:
    text = (
        "Hi {{person.first_name|there}}, {{person.email|no mail}}{{person.phone}} – "
        "{{Person.Preferred Language}}"
    )
    assert render(text, VALUES) == "Hi Maria, no mail – Deutsch"
    assert render("Hi {{person.first_name|there}}!", {}) == "Hi there!"


def test_a_value_is_never_read_as_a_placeholder() -> None:
    values = {"person": {"name": "{{me.name}}"}, "me": {"name": "Anna"}}
    assert render("{{person.name}} / {{me.name}}", values) == "{{me.name}} / Anna"


def test_missing_values_are_the_empty_placeholders_without_fallback() -> None:
    text = "{{person.email}} {{person.email|}} {{person.first_name}} {{org.name}}"
    assert [p.source for p in missing_values(text, VALUES)] == ["{{person.email}}", "{{org.name}}"]


def test_known_fields_are_standard_aliases_and_custom_by_name() -> None:
    assert [p.key for p in check_template("{{person.org_name}} {{person.Organization}}", KNOWN)] == [
        "org_name",
        "organization",
    ]
    assert len(check_template("{{person.Preferred language}} {{deal.lost_reason}} {{me.phone}}", KNOWN)) == 3
    assert "preferred_language" not in KNOWN["deal"]  # custom fields belong to their object


@pytest.mark.parametrize(
    ("text", "reason", "message"),
    [
        (
            "{{person.shoe_size}}",
            "unknown_template_field",
            "{{person.shoe_size}}: person has no field called “shoe_size”",
        ),
        (
            "{{company.name}}",
            "unknown_template_field",
            "{{company.name}}: company is not something a template can read; use person, deal, org or me",
        ),
        (
            "Hi {{person.name",
            "template_syntax",
            "A placeholder is not closed or not in the form {{person.first_name}}; check the braces",
        ),
        (
            "{{person.name|" + "x" * 201 + "}}",
            "template_syntax",
            "{{person.name|" + "x" * 201 + "}}: the fallback is too long",
        ),
        (
            "x" * 4097,
            "message_too_long",
            "WhatsApp messages are limited to 4096 characters; this one has 4097",
        ),
    ],
)
def test_check_template_refuses_by_name(text: str, reason: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_template(text, KNOWN)
    assert (refused.value.reason, str(refused.value)) == (reason, message)


def test_a_draft_is_trimmed_and_refused_without_name_or_text() -> None:
    checked = check_draft(
        TemplateDraft(TemplateScope.personal, "  Follow \n up ", "  Hi {{me.first_name}}\n"), KNOWN
    )
    assert (checked.name, checked.text) == ("Follow up", "Hi {{me.first_name}}")
    for name, text, reason in (
        (" ", "Hi", "template_name"),
        ("n" * 101, "Hi", "template_name"),
        ("ok", " \n ", "template_text"),
        ("ok", "{{deal.colour}}", "unknown_template_field"),
    ):
        with pytest.raises(InvalidInput) as refused:
            check_draft(TemplateDraft(TemplateScope.company, name, text), KNOWN)
        assert refused.value.reason == reason
