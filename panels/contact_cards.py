"""A shared contact card with its numbers' actions (open the Person, create one), in either surface."""

from __future__ import annotations

from panels.errors import ErrorView, panel_error
from panels.templating import render
from server.domain.contact_cards import CardView
from server.domain.message_kinds import KindView


def card_error(card: CardView) -> ErrorView | None:
    return panel_error(card.error_reason, card.error_message) if card.error_reason else None


def render_card(card: CardView) -> str:
    return render("partials/_contact_card.html", card=card, card_error=card_error(card))


def render_kind(kind: KindView) -> str:
    """Shared contacts with their cards' actions (the chat view loads it in place of the plain line)."""
    return render("partials/_message_kind.html", kind=kind)
