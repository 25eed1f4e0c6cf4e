"""Planning a campaign: what the compose form chose, checked, and each recipient's number, sender and skip
(``server.domain.campaign_skips``) from what storage knows (numbers, opt-outs, excluded numbers, the
inbox's traces). A preview and a start plan the same way, so the preview shows what the start does.

Refusals: no text (``empty_message``), too long (``message_too_long``), a broken placeholder
(``template_syntax``), no From number (``no_from_number``), a number not in the company
(``unknown_from_number``), and when starting, a chosen number not connected (``from_disconnected``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from server.domain.campaign_skips import (
    Candidate,
    Decision,
    PlanRules,
    Sender,
    first_number,
    home_region,
    plan,
)
from server.domain.campaigns import Compose
from server.domain.clock import Clock
from server.domain.errors import InvalidInput, NotFound
from server.domain.models import Account
from server.domain.ports.campaigns import ContactHistory, OptOutStore, StoredRecipient
from server.domain.ports.storage import AccountStore
from server.domain.session_reasons import from_disconnected
from server.domain.templates import check_length, checked_placeholders
from server.domain.text import Text
from server.domain.whatsapp import SessionStatus
from server.services.cloud_templates import CLOUD, needs_cloud_number


@dataclass(frozen=True)
class Planned:
    decisions: list[Decision]
    accounts: dict[int, Account]  # the company's numbers by id


def check_compose(compose: Compose) -> None:
    text = compose.text.strip()
    if not text and not compose.approved_template:  # an approved template's numbers send the template
        raise InvalidInput(Text("Type a message or choose a file to send"), reason="empty_message")
    check_length(text)
    checked_placeholders(text)
    if not compose.account_ids:
        raise InvalidInput(Text("Choose the number to send from"), reason="no_from_number")


def check_text_for_numbers(planned: Planned, compose: Compose) -> None:
    """Without text (an approved template alone) every chosen number must be a Cloud API number: a preview
    and a start refuse a WhatsApp Web number, which would have nothing to send."""
    if compose.text.strip():
        return
    for account_id in compose.account_ids:
        account = planned.accounts[account_id]
        if account.transport != CLOUD:
            raise needs_cloud_number(account)


def check_connected(planned: Planned, compose: Compose) -> None:
    """Starting needs every chosen number connected (a preview shows the plan anyway)."""
    check_text_for_numbers(planned, compose)
    for account_id in compose.account_ids:
        account = planned.accounts[account_id]
        if account.status != SessionStatus.CONNECTED.value:
            raise from_disconnected(account)


def sender_of(account: Account) -> Sender:
    return Sender(
        account.id, account.e164 or "", account.transport, account.status == SessionStatus.CONNECTED.value
    )


async def plan_recipients(
    *,
    company_id: int,
    compose: Compose,
    recipients: Sequence[StoredRecipient],
    accounts: AccountStore,
    opt_outs: OptOutStore,
    history: ContactHistory,
    excluded: frozenset[str],
    clock: Clock,
) -> Planned:
    check_compose(compose)
    company_accounts = {account.id: account for account in await accounts.for_company(company_id)}
    for account_id in compose.account_ids:
        if account_id not in company_accounts:
            raise NotFound(
                Text("That WhatsApp number is not linked in this company"), reason="unknown_from_number"
            )
    chosen = tuple(sender_of(company_accounts[i]) for i in dict.fromkeys(compose.account_ids))
    connected = tuple(sender_of(a) for a in company_accounts.values() if sender_of(a).connected)
    outs = await opt_outs.opt_outs(company_id)
    rules = PlanRules(
        from_mode=compose.from_mode,
        chosen=chosen,
        connected=connected,
        excluded=excluded,
        opted_out_numbers=outs.numbers,
        opted_out_persons=outs.persons,
        now=clock.now(),
        approved_template=bool(compose.approved_template),
    )
    region = home_region(rules)
    numbers = [first_number(r.record.phones, region) for r in recipients]
    traces = await history.traces(company_id, [n for n in numbers if n])
    candidates = [
        Candidate(r.id, r.record.person_id, r.record.phones, r.record.opted_out) for r in recipients
    ]
    return Planned(plan(candidates, rules, traces), company_accounts)


def message_values(
    values: Mapping[str, Mapping[str, str]], sender: Account | None
) -> dict[str, Mapping[str, str]]:
    """The recipient's placeholder values and the sender's (``me``: the sending number's name and number)."""
    filled = dict(values)
    if sender is not None:
        filled["me"] = {"name": sender.display_name, "phone": sender.e164 or ""}
    return filled
