"""JID spellings and the phone-number variants WhatsApp accounts can differ by (BR, MX, AR)."""

from __future__ import annotations

import re


def digits(text: str) -> str:
    """The number part of a phone or JID: `+55 (11) 98765-4321` or `5511987654321@c.us` -> digits."""
    user = text.split("@", 1)[0].split(":", 1)[0].split(".", 1)[0]
    return re.sub(r"\D", "", user)


def user_jid(phone: str) -> str:
    return f"{digits(phone)}@c.us"


def lid_jid(lid: str) -> str:
    return f"{digits(lid)}@lid"


def is_group(jid: str) -> bool:
    return jid.endswith("@g.us")


def is_lid(jid: str) -> bool:
    return jid.endswith("@lid")


def normalize_chat_id(chat_id: str) -> str:
    """What WAHA accepts as a chat: `@s.whatsapp.net` becomes `@c.us`; bare digits become `@c.us`."""
    if chat_id.endswith("@s.whatsapp.net"):
        return f"{digits(chat_id)}@c.us"
    if "@" not in chat_id:
        return user_jid(chat_id)
    return chat_id


def engine_jid(jid: str) -> str:
    """How whatsmeow (the GOWS engine) spells a user in its raw data: `@s.whatsapp.net`."""
    return f"{digits(jid)}@s.whatsapp.net" if jid.endswith("@c.us") else jid


def phone_variants(number: str) -> list[str]:
    """Other spellings of the same mobile account.

    Brazil: numbers registered before 2012 lack the ninth digit (`55 AA 9XXXXXXXX` vs `55 AA XXXXXXXX`).
    Mexico and Argentina: the mobile prefix `1` / `9` after the country code is present in some ids only.
    """
    n = digits(number)
    out: list[str] = []
    if n.startswith("55") and len(n) == 13 and n[4] == "9":
        out.append(n[:4] + n[5:])
    elif n.startswith("55") and len(n) == 12 and n[4] in "6789":
        out.append(n[:4] + "9" + n[4:])
    for country, mobile in (("52", "1"), ("54", "9")):
        if n.startswith(country + mobile) and len(n) == 13:
            out.append(country + n[3:])
        elif n.startswith(country) and len(n) == 12:
            out.append(country + mobile + n[2:])
    return out
