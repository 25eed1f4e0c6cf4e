"""Meta-approved templates of a WhatsApp Business (Cloud API) account, and how WaPipe fills them.

Outside the 24-hour customer service window (``SERVICE_WINDOW``: since the contact's last message to the
number) the Cloud API delivers only templates Meta approved. An ``ApprovedTemplate`` is one of them as the
Graph API lists it: name, language, category, the body with its variables (``{{1}}``, ``{{2}}`` when
positional, ``{{first_name}}`` when named), and a summary of its header, footer and buttons.

An admin maps each variable to a WaPipe placeholder (``person.first_name|there``, the grammar of
``server.domain.templates``); ``check_mapping`` refuses, by name, a variable left unmapped
(``unmapped_template_variable``), a variable the template does not have (``unknown_template_variable``) and
a placeholder that cannot be filled (``unknown_template_field``, ``template_syntax``). ``fill`` renders the
mapping for one contact into the parameters Meta receives, refusing an empty one
(``empty_template_parameter``: Meta refuses empty parameters), and the body text the inbox shows;
``placeholder_body`` writes the body with the mapped placeholders in place of its variables (a campaign's
text for the numbers that cannot send the template).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.domain.errors import InvalidInput
from server.domain.templates import check_template, missing_values, render
from server.domain.text import Text
from server.domain.whatsapp import Template

SERVICE_WINDOW = timedelta(hours=24)  # Meta: free-form messages only within 24 h of the contact's last one
MAX_PARAMETER = 1024  # a body parameter may not be longer than the body itself (1024 characters)
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class ApprovedTemplate:
    """One APPROVED message template of the account's WhatsApp Business Account."""

    name: str
    language: str  # Meta's code: en_US, de, pt_BR
    category: str  # MARKETING | UTILITY | AUTHENTICATION
    body: str  # with its variables, as Meta shows it
    header: str = ""  # the header's text, or its format (IMAGE, DOCUMENT…) when it is not text
    footer: str = ""
    buttons: tuple[str, ...] = ()  # each button's text
    named: bool = False  # parameter_format NAMED: variables are names, sent with parameter_name

    @property
    def key(self) -> str:
        """How a form names it: ``name:language``."""
        return template_key(self.name, self.language)

    @property
    def variables(self) -> tuple[str, ...]:
        """The body's variables in the order Meta expects their parameters (by number when positional)."""
        return body_variables(self.body, named=self.named)


@dataclass(frozen=True, slots=True)
class TemplateSend:
    """What a send request carries for a template: what the Graph API receives and what the inbox shows."""

    name: str
    language: str
    parameters: tuple[str, ...]
    parameter_names: tuple[str, ...] = ()  # for named templates, one per parameter; empty when positional
    body: str = ""  # the body with the parameters filled in


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """An approved template offered in the picker, rendered for the contact at hand."""

    key: str
    name: str
    language: str
    category: str
    preview: str  # the body as it would be sent ("" when it cannot be filled)
    mapped: bool  # every variable has a placeholder
    missing: tuple[str, ...] = ()  # placeholders with no value and no fallback for this contact


def template_key(name: str, language: str) -> str:
    return f"{name}:{language}"


def split_key(key: str) -> tuple[str, str]:
    """``name:language`` → (name, language); ``unknown_template`` when it is not in that form."""
    name, _, language = key.partition(":")
    if not name or not language or not re.fullmatch(r"[a-z0-9_]{1,512}", name):
        raise InvalidInput(Text("Choose one of the WhatsApp-approved templates"), reason="unknown_template")
    return name, language


def body_variables(body: str, *, named: bool) -> tuple[str, ...]:
    """Each variable once: positional ones by number, named ones in the order they first appear."""
    found = list(dict.fromkeys(match.group(1) for match in _VARIABLE.finditer(body)))
    if named:
        return tuple(found)
    return tuple(sorted((v for v in found if v.isdigit()), key=int))


def check_mapping(
    template: ApprovedTemplate, mapping: Mapping[str, str], known: Mapping[str, Iterable[str]]
) -> dict[str, str]:
    """The mapping to store (variable → placeholder without braces), or ``InvalidInput`` by name."""
    variables = template.variables
    cleaned: dict[str, str] = {}
    for variable, placeholder in mapping.items():
        if variable not in variables:
            raise InvalidInput(
                Text(
                    "The template %(template)s has no variable %(variable)s",
                    template=template.name,
                    variable="{{" + variable + "}}",
                ),
                reason="unknown_template_variable",
            )
        written = placeholder.strip().removeprefix("{{").removesuffix("}}").strip()
        if written:
            found = check_template("{{" + written + "}}", known)
            if len(found) != 1 or found[0].source != "{{" + written + "}}":
                raise InvalidInput(
                    Text(
                        "%(variable)s takes one placeholder, such as person.first_name|there",
                        variable="{{" + variable + "}}",
                    ),
                    reason="template_syntax",
                )
            cleaned[variable] = written
    for variable in variables:
        if variable not in cleaned:
            raise InvalidInput(
                Text(
                    "Choose what fills %(variable)s, for example person.first_name|there",
                    variable="{{" + variable + "}}",
                ),
                reason="unmapped_template_variable",
            )
    return cleaned


def is_mapped(template: ApprovedTemplate, mapping: Mapping[str, str] | None) -> bool:
    return all(mapping and mapping.get(variable) for variable in template.variables)


def fill(
    template: ApprovedTemplate, mapping: Mapping[str, str], values: Mapping[str, Mapping[str, str]]
) -> TemplateSend:
    """The template filled for one contact; ``unmapped_template_variable`` or ``empty_template_parameter``
    when a parameter cannot be filled (Meta refuses a template send with an empty parameter)."""
    parameters: list[str] = []
    for variable in template.variables:
        placeholder = mapping.get(variable)
        if not placeholder:
            raise _unmapped(template, variable)
        value = render("{{" + placeholder + "}}", values).strip()[:MAX_PARAMETER]
        if not value:
            raise InvalidInput(
                Text(
                    "%(variable)s of %(template)s would be empty for this contact (%(placeholder)s); fill "
                    "the field in Pipedrive or give the placeholder a fallback",
                    variable="{{" + variable + "}}",
                    template=template.name,
                    placeholder=placeholder,
                ),
                reason="empty_template_parameter",
            )
        parameters.append(value)
    names = template.variables if template.named else ()
    return TemplateSend(
        name=template.name,
        language=template.language,
        parameters=tuple(parameters),
        parameter_names=names,
        body=filled_body(template, dict(zip(template.variables, parameters, strict=True))),
    )


def placeholder_body(template: ApprovedTemplate, mapping: Mapping[str, str]) -> str:
    """The body with each variable replaced by the placeholder mapped to it (``Hello
    {{person.first_name|there}}``): the same message as text, rendered per contact where the template
    cannot be sent (a campaign's WhatsApp Web numbers). ``unmapped_template_variable`` as ``fill``."""
    for variable in template.variables:
        if not mapping.get(variable):
            raise _unmapped(template, variable)
    return filled_body(template, {v: "{{" + mapping[v] + "}}" for v in template.variables})


def _unmapped(template: ApprovedTemplate, variable: str) -> InvalidInput:
    return InvalidInput(
        Text(
            "An admin has not chosen what fills %(variable)s of %(template)s yet (Settings → "
            "WhatsApp-approved templates)",
            variable="{{" + variable + "}}",
            template=template.name,
        ),
        reason="unmapped_template_variable",
    )


def filled_body(template: ApprovedTemplate, parameters: Mapping[str, str]) -> str:
    """The body with each variable replaced by its parameter (one pass: a value is never read again)."""

    def put(match: re.Match[str]) -> str:
        return parameters.get(match.group(1), match.group(0))

    return _VARIABLE.sub(put, template.body)


def choice(
    template: ApprovedTemplate, mapping: Mapping[str, str] | None, values: Mapping[str, Mapping[str, str]]
) -> TemplateChoice:
    """The template as the picker offers it to this contact: its preview, or what it misses."""
    mapped = is_mapped(template, mapping)
    missing: tuple[str, ...] = ()
    preview = ""
    if mapped:
        mapping = mapping or {}
        missing = tuple(
            placeholder.source
            for variable in template.variables
            for placeholder in missing_values("{{" + mapping[variable] + "}}", values)
        )
        empty = tuple(
            "{{" + mapping[v] + "}}"
            for v in template.variables
            if not render("{{" + mapping[v] + "}}", values)
        )
        missing = missing or empty  # a fallback written empty ("person.first_name|") leaves it empty too
        if not missing:
            preview = fill(template, mapping, values).body
    return TemplateChoice(
        key=template.key,
        name=template.name,
        language=template.language,
        category=template.category,
        preview=preview,
        mapped=mapped,
        missing=missing,
    )


def window_open(last_inbound: datetime | None, now: datetime) -> bool:
    """Whether free text may reach the contact: they wrote to the number within ``SERVICE_WINDOW``."""
    return last_inbound is not None and now - last_inbound < SERVICE_WINDOW


def stored_parameters(send: TemplateSend) -> str:
    """The parameters as the outbox row keeps them (JSON)."""
    return json.dumps({"values": list(send.parameters), "names": list(send.parameter_names)})


def outbox_columns(send: TemplateSend | None) -> dict[str, str]:
    """The outbox row's template columns for ``send``; none for free text (the row keeps its defaults)."""
    if send is None:
        return {}
    return {
        "template_name": send.name,
        "template_language": send.language,
        "template_parameters": stored_parameters(send),
    }


def outbound_template(name: str, language: str, stored: str) -> Template:
    """The ``Template`` a stored outbox row sends (``stored`` from ``stored_parameters``)."""
    try:
        raw = json.loads(stored) if stored else {}
    except ValueError:
        raw = {}
    values = raw.get("values") if isinstance(raw, dict) else None
    names = raw.get("names") if isinstance(raw, dict) else None
    return Template(
        name=name,
        language=language,
        body_parameters=tuple(str(v) for v in values) if isinstance(values, list) else (),
        parameter_names=tuple(str(n) for n in names) if isinstance(names, list) else (),
    )
