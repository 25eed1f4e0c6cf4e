"""The chat view's "New chat with a number" form: the number (and its country when written without a
country code), the company's number to send from and the first message; built again around what was
typed when a send is refused."""

from __future__ import annotations

from dataclasses import dataclass

from panels.panel_form import CountryChoice, FromChoice
from panels.templating import render
from server.domain.text import Text
from server.domain.whatsapp import MAX_TEXT_LENGTH


@dataclass(frozen=True, slots=True)
class NewChatForm:
    csrf_token: str
    client_ref: str
    numbers: tuple[FromChoice, ...]
    countries: tuple[CountryChoice, ...]
    to: str = ""
    region: str = ""
    account_id: int | None = None
    text: str = ""
    error_reason: str = ""
    error_message: str | Text = ""
    max_text: int = MAX_TEXT_LENGTH


def render_new_chat(form: NewChatForm) -> str:
    return render("partials/_chat_new.html", new=form)
