"""The message templates page: admins manage the company's templates, every user their own; a template
naming a field Pipedrive does not have is refused when saved, naming the field; refusals by reason."""

from __future__ import annotations

import html as html_module
import re
from typing import Any

import httpx

from sandbox.pipedrive.seed import seed_custom_field
from sandbox.pipedrive.state import SandboxUser
from server.storage.tables import AuditLog
from server.storage.tables_templates import MessageTemplateRow
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_page import add_member


async def save(world: PanelWorld, user: SandboxUser | None = None, **form: str) -> httpx.Response:
    return await world.client.post("/settings/templates", data=form, headers=world.headers(user))


def listed(html: str) -> list[tuple[str, str]]:
    """(scope, name) of each template row, in order."""
    found = re.findall(
        r'<tr data-template-id="\d+" data-scope="(\w+)">\s*<td><strong class="template-name">([^<]*)', html
    )
    return [(scope, html_module.unescape(name)) for scope, name in found]


def field_reads(world: PanelWorld) -> int:
    usage = world.pd.limiter.usage_for(world.anna.company_id).per_operation
    lists = ("GET /v2/personFields", "GET /v2/dealFields", "GET /v2/organizationFields")
    return sum(usage.get(operation, 0) for operation in lists)


async def rows(world: PanelWorld) -> list[dict[str, Any]]:
    return await world.rows(MessageTemplateRow)


async def test_an_admin_makes_a_company_template_everyone_sees(world: PanelWorld) -> None:
    text = "Hi {{person.first_name|there}}, about {{deal.title}} – {{me.name}}"
    made = await save(world, scope="company", name="  Follow   up ", text=text)
    assert made.status_code == 200, made.text
    assert 'id="template-saved"' in made.text
    [row] = await rows(world)
    assert (row["owner_user_id"], row["name"], row["text"], row["created_by"]) == (
        0,
        "Follow up",
        text,
        world.anna.id,
    )
    nick = await add_member(world)
    page = await world.client.get("/settings/templates", params={"token": world.token(nick)})
    assert page.status_code == 200
    assert listed(page.text) == [("company", "Follow up")]
    assert "template-edit" not in page.text  # Nick may use it, not change it
    [entry] = [e for e in await world.rows(AuditLog) if e["action"].startswith("template.")]
    assert (entry["action"], entry["subject"], entry["actor_user_id"]) == (
        "template.create",
        "Follow up",
        world.anna.id,
    )


async def test_a_template_naming_an_unknown_field_is_refused_naming_it(world: PanelWorld) -> None:
    text = "Hi {{person.first_name}}, your {{person.Shoe size|}} shoes"
    refused = await save(world, scope="personal", name="shoes", text=text)
    assert refused.status_code == 400
    assert 'data-reason="unknown_template_field"' in refused.text
    assert "person has no field called “Shoe size”" in refused.text
    assert ">Hi {{person.first_name}}, your {{person.Shoe size|}} shoes</textarea>" in refused.text  # kept
    assert await rows(world) == []
    unknown_object = await save(world, scope="personal", name="x", text="{{company.name}}")
    assert 'data-reason="unknown_template_field"' in unknown_object.text
    unclosed = await save(world, scope="personal", name="x", text="Hi {{person.first_name")
    assert 'data-reason="template_syntax"' in unclosed.text
    for name, text, reason in (("", "Hi", "template_name"), ("x", "   ", "template_text")):
        answer = await save(world, scope="personal", name=name, text=text)
        assert answer.status_code == 400 and f'data-reason="{reason}"' in answer.text


async def test_custom_fields_are_known_by_name_and_read_once_in_five_minutes(world: PanelWorld) -> None:
    seed_custom_field(world.pd, world.anna.company_id, "person", "Shoe size")
    before = field_reads(world)
    made = await save(world, scope="personal", name="shoes", text="Size {{person.Shoe size}}")
    assert made.status_code == 200, made.text
    first = field_reads(world) - before
    assert first == 3  # Persons', Deals' and Organizations' field lists, once for the check and the help
    world.clock.advance(299)
    again = await save(world, scope="personal", name="shoes 2", text="{{person.shoe_size|?}}")
    assert again.status_code == 200 and field_reads(world) - before == first
    page = await world.client.get("/settings/templates", params={"token": world.token()})
    assert 'data-placeholder="{{person.Shoe size}}"' in page.text  # the help lists it
    assert field_reads(world) - before == first
    world.clock.advance(1)
    await world.client.get("/settings/templates", params={"token": world.token()})
    assert field_reads(world) - before == 2 * first


async def test_a_member_cannot_touch_company_templates_and_keeps_personal_ones_private(
    world: PanelWorld,
) -> None:
    await save(world, scope="company", name="company one", text="Hello")
    [company] = await rows(world)
    nick = await add_member(world)
    refused = await save(world, nick, scope="company", name="mine now", text="Hi")
    assert refused.status_code == 403 and 'data-reason="company_templates_admin_only"' in refused.text
    edit = await save(world, nick, id=str(company["id"]), scope="personal", name="renamed", text="Hi")
    assert edit.status_code == 403 and 'data-reason="company_templates_admin_only"' in edit.text
    deleted = await world.client.post(
        "/settings/templates/delete", data={"id": str(company["id"])}, headers=world.headers(nick)
    )
    assert deleted.status_code == 403 and 'data-reason="company_templates_admin_only"' in deleted.text
    form = await world.client.get(
        "/settings/templates/form", params={"id": str(company["id"])}, headers=world.headers(nick)
    )
    assert form.status_code == 403
    assert [r["name"] for r in await rows(world)] == ["company one"]

    own = await save(world, nick, scope="personal", name="Nick's", text="Hi {{person.name}}")
    assert own.status_code == 200 and listed(own.text) == [("company", "company one"), ("personal", "Nick's")]
    [nicks] = [r for r in await rows(world) if r["owner_user_id"] == nick.id]
    annas_page = await world.client.get("/settings/templates", params={"token": world.token()})
    assert "Nick&#39;s" not in annas_page.text and "Nick's" not in annas_page.text
    taken = await world.client.post(
        "/settings/templates/delete", data={"id": str(nicks["id"])}, headers=world.headers()
    )
    assert taken.status_code == 404  # not Anna's to see, admin or not
    grace = await world.client.get(
        "/settings/templates/form", params={"id": str(company["id"])}, headers=world.headers(world.grace)
    )
    assert grace.status_code == 404  # another company's


async def test_names_are_unique_per_scope_and_edits_and_deletions_apply(world: PanelWorld) -> None:
    await save(world, scope="company", name="hello", text="Hello")
    taken = await save(world, scope="company", name="hello", text="Hello again")
    assert taken.status_code == 400 and 'data-reason="template_name_taken"' in taken.text
    assert (await save(world, scope="personal", name="hello", text="Mine")).status_code == 200
    [company, personal] = sorted(await rows(world), key=lambda r: r["owner_user_id"])
    form = await world.client.get(
        "/settings/templates/form", params={"id": str(company["id"])}, headers=world.headers()
    )
    assert 'value="hello"' in form.text and ">Hello</textarea>" in form.text
    edited = await save(
        world, id=str(company["id"]), scope="personal", name="hello 2", text="Hi {{org.name}}"
    )
    assert edited.status_code == 200
    assert {(r["owner_user_id"], r["name"]) for r in await rows(world)} == {
        (0, "hello 2"),
        (world.anna.id, "hello"),
    }
    gone = await world.client.post(
        "/settings/templates/delete", data={"id": str(personal["id"])}, headers=world.headers()
    )
    assert gone.status_code == 200 and listed(gone.text) == [("company", "hello 2")]
    actions = [e["action"] for e in await world.rows(AuditLog) if e["action"].startswith("template.")]
    assert actions == ["template.create", "template.create", "template.update", "template.delete"]
    log = await world.client.get("/settings/audit", headers=world.headers())
    assert "Message template deleted" in log.text and "Message template changed" in log.text


async def test_an_attachment_is_a_pipedrive_file_read_for_its_name(world: PanelWorld) -> None:
    made = await save(
        world, scope="company", name="offer", text="Our offer", file_id=str(world.files["offer"])
    )
    assert made.status_code == 200, made.text
    assert "📎 offer.pdf" in made.text
    [row] = await rows(world)
    assert (row["file_id"], row["file_name"]) == (world.files["offer"], "offer.pdf")
    missing = await save(world, scope="company", name="none", text="x", file_id="99999")
    assert missing.status_code == 404 and 'data-reason="attachment_missing"' in missing.text
    unreadable = await save(world, scope="company", name="none", text="x", file_id="abc")
    assert unreadable.status_code == 400 and 'data-reason="attachment_missing"' in unreadable.text


async def test_the_page_needs_an_installation_of_ones_own(world: PanelWorld) -> None:
    bernd = world.pd.add_user(world.anna.company_id, "Bernd Agent", "bernd@acme.test")
    page = await world.client.get("/settings/templates", params={"token": world.token(bernd)})
    assert page.status_code == 403 and 'data-reason="install_required"' in page.text
    made = await save(world, bernd, scope="personal", name="x", text="y")
    assert made.status_code == 403 and await rows(world) == []
    settings = await world.client.get("/settings", params={"token": world.token()})
    assert 'id="templates-link"' in settings.text and 'hx-get="/settings/templates"' in settings.text
