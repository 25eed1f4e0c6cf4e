"""Below a Person's or Deal's fields the host pages show what the sandbox holds, as Pipedrive does: the
custom fields (a web address as a link), the activities with their notes, the notes and the files. Notes
are shown formatted and never run."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.host import configure_host_app
from sandbox.pipedrive.host_timeline import file_size
from sandbox.pipedrive.rich_text import clean_html
from sandbox.pipedrive.seed import seed_custom_field, seed_deal, seed_file, seed_person
from sandbox.pipedrive.state import SandboxState

PANEL = "https://app.test/panel"
JWT_SECRET = "a-jwt-secret-that-is-32-bytes-long!"


@pytest.mark.parametrize(
    ("note", "shown"),
    [
        ("<p>09:00 → <b>Klaus</b>: hi</p>", "<p>09:00 → <b>Klaus</b>: hi</p>"),
        ("a<br>b<br/>c", "a<br>b<br>c"),
        ("<p>x<script>alert(1)</script>y</p>", "<p>xy</p>"),
        ("<style>p{}</style><iframe src=//e.x>t</iframe>z", "z"),
        ('<img src=x onerror="alert(1)">', ""),
        ('<b onclick="alert(1)" class="c">bold</b>', "<b>bold</b>"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href=" java\tscript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href="data:text/html,<script>">x</a>', "<a>x</a>"),
        (
            '<a href="https://e.x/?a=1&amp;b=&quot;2" onmouseover="x">y</a>',
            '<a href="https://e.x/?a=1&amp;b=&quot;2" rel="noopener noreferrer" target="_blank">y</a>',
        ),
        ("<i>open <u>tags", "<i>open <u>tags</u></i>"),
        ("</b>stray</p> <x-tag>kept text</x-tag>", "stray kept text"),
        ("1 &lt; 2 &amp; <b>3 > 2</b>", "1 &lt; 2 &amp; <b>3 &gt; 2</b>"),
        ("<!-- a comment --><p>after</p>", "<p>after</p>"),
        ("<script>never closed <b>x</b>", ""),
        (None, ""),
    ],
)
def test_notes_keep_their_formatting_and_lose_anything_that_runs(note: str | None, shown: str) -> None:
    assert str(clean_html(note)) == shown


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1 KB"), (1536, "1.5 KB"), (5 * 1024 * 1024, "5 MB")],
)
def test_file_sizes_read_as_a_person_reads_them(size: int, shown: str) -> None:
    assert file_size(size) == shown


@dataclass
class World:
    state: SandboxState
    http: httpx.AsyncClient
    company: int
    bearer: dict[str, str]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    state = SandboxState()
    company = state.add_company("Acme")
    admin = state.add_user(company.id, "Ada Admin", "ada@acme.test", is_admin=True)
    state.add_client("wapipe", "client-secret", "https://app.test/oauth/callback", ["base"], JWT_SECRET)
    configure_host_app(state, "wapipe", panel_url=PANEL)
    token = state.token_for(company.id, admin.id, ["base", "activities:full", "contacts:full"])
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        yield World(state, http, company.id, {"Authorization": f"Bearer {token}"})


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="pd-{name}".*?</section>', page, re.S)
    assert found, page
    return found.group(0)


async def test_a_person_page_shows_the_chat_link_activities_notes_and_files(world: World) -> None:
    state, company = world.state, world.company
    link = seed_custom_field(state, company, "person", "WhatsApp chat link")
    person = seed_person(
        state, company, "Klaus <Becker>", custom_fields={link["key"]: "https://wa.test/chats/7"}
    )
    other = seed_person(state, company, "Somebody else")
    for subject, day, note in [
        (
            "WhatsApp chat with Klaus",
            "2026-03-02",
            "<p>09:00 → <b>Klaus</b>: Hallo<script>alert(1)</script></p>",
        ),
        ("WhatsApp chat with Klaus", "2026-03-03", "<p>10:15 ← <b>Ada</b>: Guten Tag &lt;3</p>"),
    ]:
        body = {
            "subject": subject,
            "type": "call",
            "due_date": day,
            "due_time": "08:00",
            "done": True,
            "participants": [{"person_id": person["id"], "primary": True}],
            "note": note,
        }
        created = await world.http.post("/api/v2/activities", json=body, headers=world.bearer)
        assert created.status_code == 200, created.text
    elsewhere = {"subject": "Not Klaus's", "participants": [{"person_id": other["id"]}]}
    assert (await world.http.post("/api/v2/activities", json=elsewhere, headers=world.bearer)).is_success
    note = {
        "content": "<p>Call back <i>Monday</i><img src=x onerror=alert(2)></p>",
        "person_id": person["id"],
    }
    assert (await world.http.post("/api/v1/notes", json=note, headers=world.bearer)).is_success
    seed_file(state, company, "offer <final>.pdf", b"%PDF" + b"x" * 2044, person_id=person["id"])
    deleted = seed_file(state, company, "old.pdf", b"old", person_id=person["id"])
    deleted["active_flag"] = False
    seed_file(state, company, "theirs.pdf", b"x", person_id=other["id"])

    page = (await world.http.get(f"/host/person/{person['id']}")).text

    assert "<dt>WhatsApp chat link</dt>" in page
    assert (
        '<a href="https://wa.test/chats/7" target="_blank" rel="noopener noreferrer">https://wa.test/chats/7</a>'
        in page
    )
    activities = section(page, "activities")
    # newest first, each with its note formatted and its script gone
    assert re.findall(r'<p class="pd-meta">([^<]*)</p>', activities) == [
        "Call · 2026-03-03 08:00 · Ada Admin · Done",
        "Call · 2026-03-02 08:00 · Ada Admin · Done",
    ]
    assert "<p>10:15 ← <b>Ada</b>: Guten Tag &lt;3</p>" in activities
    assert "<p>09:00 → <b>Klaus</b>: Hallo</p>" in activities
    assert "Not Klaus" not in page and "alert" not in page and "<script>alert" not in page
    notes = section(page, "notes")
    assert "<p>Call back <i>Monday</i></p>" in notes and "onerror" not in notes
    files = section(page, "files")
    assert re.findall(r'<a href="([^"]*)" download>([^<]*)</a>\s*<span class="pd-meta">([^·]*) ·', files) == [
        ("/host/files/1/download?user_id=1", "offer &lt;final&gt;.pdf", "2 KB")
    ]
    assert "Klaus &lt;Becker&gt;" in page
    policy = (await world.http.get(f"/host/person/{person['id']}")).headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy


async def test_a_deal_page_shows_the_deals_activities_and_files_and_says_when_there_are_none(
    world: World,
) -> None:
    state, company = world.state, world.company
    person = seed_person(state, company, "Linus")
    deal = seed_deal(state, company, "Chairs", person_id=person["id"], value=12500.5)
    empty = seed_deal(state, company, "Desks", person_id=person["id"])
    body = {
        "subject": "WhatsApp chat with Linus",
        "deal_id": deal["id"],
        "participants": [{"person_id": person["id"]}],
        "note": "<p>on the deal</p>",
    }
    assert (await world.http.post("/api/v2/activities", json=body, headers=world.bearer)).is_success
    seed_file(state, company, "chair.png", b"\x89PNG", deal_id=deal["id"])

    page = (await world.http.get(f"/host/deal/{deal['id']}")).text
    assert "<dt>Value</dt><dd>12,500.50 EUR</dd>" in page
    assert "<p>on the deal</p>" in section(page, "activities")
    assert "chair.png" in section(page, "files") and "4 B" in section(page, "files")
    assert "No notes yet." in section(page, "notes")

    none = (await world.http.get(f"/host/deal/{empty['id']}")).text
    assert "<dt>Value</dt>" not in none  # no value given
    assert "No activities yet." in section(none, "activities")
    assert "No files yet." in section(none, "files")


async def test_files_download_for_their_own_company_only(world: World) -> None:
    state, company = world.state, world.company
    person = seed_person(state, company, "Linus")
    content = b"%PDF-1.4 the offer"
    record = seed_file(state, company, "Angebot für Linus.pdf", content, person_id=person["id"])
    other_company = state.add_company("Globex")
    outsider = state.add_user(other_company.id, "Olga", "olga@globex.test", is_admin=True)

    got = await world.http.get(f"/host/files/{record['id']}/download")
    assert got.status_code == 200 and got.content == content
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''Angebot%20f%C3%BCr%20Linus.pdf"
    assert got.headers["content-type"] == "application/octet-stream"

    theirs = await world.http.get(f"/host/files/{record['id']}/download", params={"user_id": outsider.id})
    assert theirs.status_code == 404 and content not in theirs.content
    record["active_flag"] = False
    assert (await world.http.get(f"/host/files/{record['id']}/download")).status_code == 404
