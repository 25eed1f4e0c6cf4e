"""The panel's template picker: the user's templates listed; choosing one answers the text rendered from
the sandbox's Person, Deal, stage and sender for the message box, warns about empty placeholders and
preselects the template's attachment; Pipedrive is read only for what the template names."""

from __future__ import annotations

import html
import re

from sandbox.pipedrive.seed import seed_custom_field, seed_file, seed_organization, seed_person
from server.domain.message_templates import TemplateAttachment, TemplateDraft, TemplateScope
from server.storage.message_templates import SqlTemplateStore
from tests.panel.world import ANNA_NUMBER, PanelWorld
from tests.settings_page.test_settings_page import add_member


async def make(
    world: PanelWorld,
    name: str,
    text: str,
    *,
    scope: TemplateScope = TemplateScope.company,
    user_id: int | None = None,
    attachment: TemplateAttachment | None = None,
) -> int:
    store = SqlTemplateStore(world.resources.engine)
    made = await store.create(
        1, user_id or world.anna.id, TemplateDraft(scope, name, text), attachment
    )  # WaPipe's first company is Anna's
    return made.id


def message_box(answer: str) -> str:
    found = re.search(
        r'<textarea name="text" id="text"[^>]*hx-swap-oob="true">(.*?)</textarea>', answer, re.S
    )
    assert found is not None, answer
    return html.unescape(found.group(1))


def warnings(answer: str) -> str:
    return answer.split('<div id="template-warnings"', 1)[1].split("</div>", 1)[0]


def usage(world: PanelWorld) -> dict[str, int]:
    return dict(world.pd.limiter.usage_for(world.anna.company_id).per_operation)


def spent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {op: after[op] - before.get(op, 0) for op in after if after[op] != before.get(op, 0)}


async def pick(world: PanelWorld, template_id: int, *, deal: bool = False, person: str = "maria") -> str:
    params = {"template": f"saved:{template_id}", "account_id": "1"}
    params |= {"deal_id": str(world.deal_id)} if deal else {"person_id": str(world.persons[person])}
    answer = await world.client.get("/panel/templates/render", params=params, headers=world.headers())
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_the_picker_lists_the_company_templates_and_the_users_own(world: PanelWorld) -> None:
    nick = await add_member(world)
    await make(world, "Welcome", "Hi")
    await make(world, "Anna's", "Mine", scope=TemplateScope.personal)
    await make(world, "Nick's", "His", scope=TemplateScope.personal, user_id=nick.id)
    page = await world.client.get(
        "/panel", params={"resource": "person", "selectedIds": world.persons["maria"], "token": world.token()}
    )
    assert 'hx-get="/panel/templates" hx-trigger="load"' in page.text
    picker = await world.client.get("/panel/templates", params={"account_id": "1"}, headers=world.headers())
    options = re.findall(r'<option value="(saved:\d+)">([^<]*)</option>', picker.text)
    assert [html.unescape(label) for _, label in options] == ["Welcome (Company)", "Anna's (Personal)"]
    assert 'hx-get="/panel/templates/render"' in picker.text
    assert 'hx-trigger="change from:#from"' in picker.text  # another From number may offer other choices
    grace = await world.client.get("/panel/templates", headers=world.headers(world.grace))
    assert "saved:" not in grace.text


async def test_choosing_a_template_fills_the_box_from_the_deal_person_stage_and_sender(
    world: PanelWorld,
) -> None:
    data = world.pd.company_data(world.anna.company_id)
    deal = data.deals[world.deal_id]
    person = data.persons[world.persons["maria"]]
    stage = data.stages[deal["stage_id"]]["name"]
    text = (
        "Hi {{person.first_name}}, about {{deal.title}} ({{Deal.Stage}}) – {{me.name}}, {{me.phone}}. "
        "{{org.name|your team}}"
    )
    template = await make(world, "deal", text)
    answer = await pick(world, template, deal=True)
    first = person["name"].split()[0]
    assert message_box(answer) == (
        f"Hi {first}, about {deal['title']} ({stage}) – Anna Admin, +{ANNA_NUMBER}. your team"
    )
    assert "data-reason" not in warnings(answer)  # every placeholder has a value or a fallback
    assert 'id="file"' not in answer  # no attachment: the choice of file stays as it was


async def test_an_empty_placeholder_without_fallback_is_named_beside_the_box(world: PanelWorld) -> None:
    template = await make(world, "mail", "Dear {{person.name}}, is {{person.email}} right? {{person.email|}}")
    answer = await pick(world, template)
    assert message_box(answer) == "Dear Maria Kunde, is  right? "
    shown = warnings(answer)
    assert 'data-reason="template_value_missing"' in shown and "{{person.email}}" in shown
    assert "{{person.email|}}" not in shown  # an empty fallback is a choice, not an omission


async def test_custom_fields_render_by_name_and_only_what_is_named_is_read(world: PanelWorld) -> None:
    company = world.anna.company_id
    field = seed_custom_field(world.pd, company, "person", "Preferred language")
    lena = seed_person(
        world.pd,
        company,
        "Lena Sprache",
        phones=["+49 176 55507777"],
        custom_fields={field["key"]: "Deutsch"},
    )
    world.persons["lena"] = lena["id"]
    only_person = await make(world, "person only", "Hallo {{person.first_name}}!")
    custom = await make(world, "language", "Language: {{person.Preferred language|English}}")
    await pick(world, only_person, person="lena")  # the panel's Person read once, cached for the form
    before = usage(world)
    answer = await pick(world, only_person, person="lena")
    assert message_box(answer) == "Hallo Lena!"
    assert spent(before, usage(world)) == {"GET /v2/persons/{id}": 1}  # no Deal, stage, fields or users
    before = usage(world)
    answer = await pick(world, custom, person="lena")
    assert message_box(answer) == "Language: Deutsch"
    assert spent(before, usage(world)) == {
        "GET /v2/persons/{id}": 1,
        "GET /v2/personFields": 1,
        "GET /v2/dealFields": 1,
        "GET /v2/organizationFields": 1,
    }
    answer = await pick(world, custom, person="maria")
    assert message_box(answer) == "Language: English"


async def test_the_templates_attachment_is_chosen_when_the_person_has_it(world: PanelWorld) -> None:
    offer = await make(
        world, "offer", "Our offer", attachment=TemplateAttachment(world.files["offer"], "offer.pdf")
    )
    answer = await pick(world, offer)
    assert re.search(r"<select name=\"file_id\" id=\"file\" hx-swap-oob=\"true\">", answer)
    assert f'<option value="{world.files["offer"]}" selected>offer.pdf' in answer
    # Lisa has a file of the same name (uploaded to her): hers is chosen
    company = world.anna.company_id
    same_name = seed_file(world.pd, company, "offer.pdf", b"%PDF-1.4 lisa", person_id=world.persons["local"])
    answer = await pick(world, offer, person="local")
    assert f'<option value="{same_name["id"]}" selected>offer.pdf' in answer
    # the Person without it is told, and no file is chosen
    answer = await pick(world, offer, person="bad")
    assert 'data-reason="template_attachment_missing"' in warnings(answer) and "offer.pdf" in warnings(answer)
    assert " selected>" not in answer.split('id="file"', 1)[1]


async def test_templates_of_others_cannot_be_rendered(world: PanelWorld) -> None:
    nick = await add_member(world)
    his = await make(world, "his", "secret {{person.name}}", scope=TemplateScope.personal, user_id=nick.id)
    answer = await world.client.get(
        "/panel/templates/render",
        params={"template": f"saved:{his}", "person_id": str(world.persons["maria"])},
        headers=world.headers(),
    )
    assert answer.status_code == 404 and 'data-reason="template_not_found"' in answer.text
    assert "secret" not in answer.text
    odd = await world.client.get(
        "/panel/templates/render",
        params={"template": "other:1", "person_id": str(world.persons["maria"])},
        headers=world.headers(),
    )
    assert odd.status_code == 404
    cleared = await world.client.get(
        "/panel/templates/render", params={"template": ""}, headers=world.headers()
    )
    assert cleared.status_code == 200 and "<textarea" not in cleared.text


async def test_the_organization_is_the_deals_else_the_persons(world: PanelWorld) -> None:
    company = world.anna.company_id
    acme = seed_organization(world.pd, company, "Kunde & Co KG", address="Hauptstr. 1, 10115 Berlin")
    world.pd.company_data(company).persons[world.persons["maria"]]["org_id"] = acme["id"]
    template = await make(world, "org", "{{org.name}}, {{org.address}} / {{person.org_name}}")
    await pick(world, template)  # the panel's Person read once, cached for the form
    before = usage(world)
    answer = await pick(world, template)
    assert message_box(answer) == "Kunde & Co KG, Hauptstr. 1, 10115 Berlin / Kunde & Co KG"
    assert spent(before, usage(world)) == {"GET /v2/persons/{id}": 1, "GET /v2/organizations/{id}": 1}
    other = seed_organization(world.pd, company, "Deal Partner GmbH")
    world.pd.company_data(company).deals[world.deal_id]["org_id"] = other["id"]
    before = usage(world)
    answer = await pick(world, template, deal=True)
    assert message_box(answer) == "Deal Partner GmbH,  / Deal Partner GmbH"
    assert spent(before, usage(world)) == {
        # the Deal panel's first load (its Deal, the Person, both Files), then the template's own reads
        "GET /v2/deals/{id}": 2,
        "GET /v1/deals/{id}/files": 1,
        "GET /v2/persons/{id}": 2,
        "GET /v1/persons/{id}/files": 1,
        "GET /v2/organizations/{id}": 1,
    }
    assert "{{org.address}}" in warnings(answer)
