"""The panel's send form: To from the Person's phones, the country when a number lacks its code, From from
the company's numbers, an attachment from the Person's and Deal's Files, the message. Built the same way
after an error, from what was typed, so nothing is lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale

from panels.errors import ErrorView
from panels.i18n import ENGLISH, LANGUAGES, language
from panels.numbers import status_text
from panels.templating import render
from server.domain.countries import countries, region_of_number
from server.domain.models import Account
from server.domain.phone_numbers import is_international, to_e164
from server.domain.session_reasons import not_connected_reason
from server.domain.text import Text
from server.domain.whatsapp import MAX_TEXT_LENGTH

# Pipedrive's labels of a Person's phones, as its own pages show them; a label of the company's own is
# shown as typed.
PHONE_LABELS = {
    "mobile": Text("mobile"),
    "work": Text("work"),
    "home": Text("home"),
    "other": Text("other"),
}
# Where an attachment comes from.
WHERE = {"Person": Text("Person"), "Deal": Text("Deal")}


@dataclass(frozen=True, slots=True)
class PhoneChoice:
    """One way to reach the Person in To: one of their phones, or (for a group's Person) the group."""

    value: str
    label: str | Text
    international: bool
    group: bool = False


@dataclass(frozen=True, slots=True)
class FileChoice:
    id: int
    name: str
    where: str | Text  # "Person" or "Deal"


@dataclass(frozen=True, slots=True)
class FromChoice:
    id: int
    number: str | Text
    status_label: str | Text
    connected: bool
    reason: str | Text
    region: str


@dataclass(frozen=True, slots=True)
class CountryChoice:
    region: str
    label: str


@dataclass(frozen=True, slots=True)
class Typed:
    """What the user chose and typed (empty on a fresh form)."""

    to: str = ""
    region: str = ""
    account_id: int | None = None
    file_id: int | None = None
    text: str = ""
    client_ref: str = ""


@dataclass(frozen=True, slots=True)
class FormView:
    person_id: int
    deal_id: int | None
    phones: tuple[PhoneChoice, ...]
    numbers: tuple[FromChoice, ...]
    files: tuple[FileChoice, ...]
    countries: tuple[CountryChoice, ...]
    typed: Typed
    error: ErrorView | None = None

    @property
    def chosen_phone(self) -> PhoneChoice | None:
        for phone in self.phones:
            if phone.value == self.typed.to:
                return phone
        return self.phones[0] if self.phones else None

    @property
    def needs_region(self) -> bool:
        chosen = self.chosen_phone
        return chosen is not None and not chosen.international

    @property
    def max_text(self) -> int:
        """WhatsApp's limit for one message: counted in the page as typed, refused by name beyond it."""
        return MAX_TEXT_LENGTH

    @property
    def can_send(self) -> bool:
        return bool(self.phones) and any(number.connected for number in self.numbers)


def phone_choices(
    phones: Sequence[tuple[str, str | None]], home_region: str | None = None
) -> tuple[PhoneChoice, ...]:
    """(value as typed in Pipedrive, label) pairs, in Pipedrive's order (primary first), each number once:
    ``+4915112345678`` and ``0151 1234 5678`` (read in ``home_region``, the country of the company's
    numbers) are one number, shown as the first of them."""
    seen: dict[str, PhoneChoice] = {}
    for value, label in phones:
        value = value.strip()
        number = (to_e164(value, default_region=home_region) or value) if value else ""
        if value and number not in seen:
            shown: str | Text = value
            if label:
                shown = Text("%(number)s (%(label)s)", number=value, label=PHONE_LABELS.get(label, label))
            seen[number] = PhoneChoice(value, shown, is_international(value))
    return tuple(seen.values())


def group_choices(groups: Sequence[tuple[str, str]]) -> tuple[PhoneChoice, ...]:
    """(chat key, subject) of the group chats linked to the Person: each is answered as the group."""
    return tuple(
        PhoneChoice(key, Text("%(group)s (group)", group=subject or Text("WhatsApp group")), True, True)
        for key, subject in groups
    )


def file_choices(files: Sequence[tuple[int, str, str]]) -> tuple[FileChoice, ...]:
    return tuple(FileChoice(file_id, name, WHERE.get(where, where)) for file_id, name, where in files)


def from_choices(accounts: Sequence[Account], chosen: int | None = None) -> tuple[FromChoice, ...]:
    """The company's numbers; an unlinked one only when it is the user's choice (``chosen``). The form
    keeps the user's choice selected even when it cannot send (it says why, and Send is refused by name
    again), so From never switches to a number the user did not choose."""
    choices = []
    for account in accounts:
        if account.status == "unlinked" and account.id != chosen:
            continue
        label, _ = status_text(account.status)
        connected = account.status == "connected" and bool(account.e164)
        reason = "" if connected else not_connected_reason(account.status, account.status_detail)
        choices.append(
            FromChoice(
                id=account.id,
                number=account.e164 or Text("not linked yet"),
                status_label=label,
                connected=connected,
                reason=reason,
                region=region_of_number(account.e164) or "",
            )
        )
    return tuple(choices)


def default_from(
    numbers: Sequence[FromChoice], last_talked: Sequence[int], user_numbers: Sequence[int]
) -> int | None:
    """The connected number that last talked to the recipient, else the user's own, else any."""
    connected = [number.id for number in numbers if number.connected]
    for account_id in [*last_talked, *user_numbers, *connected]:
        if account_id in connected:
            return account_id
    return None


def form_view(
    person_id: int,
    deal_id: int | None,
    phones: tuple[PhoneChoice, ...],
    numbers: tuple[FromChoice, ...],
    files: tuple[FileChoice, ...],
    typed: Typed,
    error: ErrorView | None = None,
) -> FormView:
    """Fill what was not chosen: the first phone, the suggested From, that number's country."""
    to = typed.to if any(p.value == typed.to for p in phones) else (phones[0].value if phones else "")
    region = typed.region
    if not region and typed.account_id is not None:
        region = next((n.region for n in numbers if n.id == typed.account_id), "")
    typed = Typed(to, region, typed.account_id, typed.file_id, typed.text, typed.client_ref)
    choices = country_choices(language())
    return FormView(person_id, deal_id, phones, numbers, files, choices, typed, error)


@lru_cache(maxsize=len(LANGUAGES))
def country_choices(code: str) -> tuple[CountryChoice, ...]:
    """The country picker's choices as the reader's language names the countries ("ドイツ (+49)"), in
    that language's order of the names; English reads libphonenumber's names."""
    if code == ENGLISH:
        return tuple(CountryChoice(c.region, c.label) for c in countries())
    names = Locale.parse(code).territories
    named = [(names.get(c.region, c.name), c) for c in countries()]
    return tuple(
        CountryChoice(c.region, f"{name} (+{c.calling_code})")
        for name, c in sorted(named, key=lambda n: n[0])
    )


def render_files(files: tuple[FileChoice, ...], chosen: int | None) -> str:
    """The Attachment list alone, loaded again (``↻ Refresh Files``), the chosen file still chosen."""
    return render("partials/_panel_files.html", files=files, chosen=chosen)


def render_form(view: FormView) -> str:
    return render("partials/_panel_form.html", form=view)
