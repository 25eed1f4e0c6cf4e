"""The campaign modal over HTTP: opened with a Pipedrive selection it reads the records once and shows the
compose form; the preview shows each of the first recipients' message and every skip with its reason and
counts; refusals are named beside the form (the form itself is not sent back, so nothing typed is lost);
Start runs the campaign and answers with its progress."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from sandbox.pipedrive.seed import condition, seed_filter, seed_person
from server.domain.text import Text
from server.storage.tables_templates import MessageTemplateRow
from tests.campaigns_web.steps import account_id, form, get, open_campaign, post, reasons, text_of
from tests.panel.world import PanelWorld


async def test_the_modal_reads_the_selection_pipedrive_passed(world: PanelWorld) -> None:
    ids = f"{world.persons['maria']},{world.persons['nophone']}"
    page = await world.client.get(
        "/campaigns/modal",
        params={"resource": "person", "selectedIds": ids, "view": "list", "id": "m1", "token": world.token()},
    )
    assert page.status_code == 200, page.text
    assert '<script src="/static/vendor/app-extensions-sdk.umd.js"></script>' in page.text
    assert '<script src="/static/js/frame.js"></script>' in page.text
    assert f'name="selectedIds" value="{ids}"' in page.text
    assert 'hx-post="/campaigns/modal/source"' in page.text and 'hx-trigger="load"' in page.text
    assert "2 selected Persons · Reading them from Pipedrive…" in text_of(page.text)


async def test_a_bad_selection_or_list_is_refused_by_name(world: PanelWorld) -> None:
    for params, reason in (
        ({"resource": "person", "selectedIds": "1,abc"}, "invalid_selection"),
        ({"resource": "person", "selectedIds": "-4"}, "invalid_selection"),
        ({"resource": "organization", "selectedIds": "1"}, "unknown_list"),
    ):
        page = await world.client.get("/campaigns/modal", params={**params, "token": world.token()})
        assert page.status_code == 400 and reason in reasons(page.text), params
    empty = await post(world, "/campaigns/modal/source", {"resource": "person", "selectedIds": ""})
    assert empty.status_code == 400
    assert 'data-step="source"' in empty.text and reasons(empty.text) == ["no_recipients"]


async def test_an_unknown_saved_filter_is_refused_by_name(world: PanelWorld) -> None:
    answer = await post(world, "/campaigns/modal/source", {"resource": "person", "filter_id": "999999"})
    assert answer.status_code == 404 and "unknown_filter" in reasons(answer.text)
    assert 'id="source-filter"' in answer.text  # the filters to choose from again


async def test_the_compose_form_offers_the_companys_connected_numbers_with_the_default_pacing(
    world: PanelWorld,
) -> None:
    answer = await post(world, "/campaigns/modal/source", {"resource": "person", "selectedIds": "1"})
    html = answer.text
    assert 'data-step="compose"' in html and "1 selected Person" in text_of(html)
    own = await account_id(world)
    grace = await account_id(world, world.grace)
    assert f'value="{own}" id="account-{own}" checked> +4915112345678' in html
    assert f'id="account-{grace}"' not in html  # another company's number
    for field, value in (("min_gap", "20"), ("max_gap", "60"), ("daily_cap", "200")):
        assert f'id="{field}" name="{field}" value="{value}"' in html
    assert 'value="21:00"' in html and 'value="08:00"' in html
    assert 'value="fixed" id="from-fixed" checked' in html
    assert "Reply STOP to unsubscribe" in html


async def test_the_preview_shows_the_rendered_message_and_every_skip_with_its_reason(
    world: PanelWorld,
) -> None:
    persons = world.persons
    campaign = await open_campaign(world, [persons["maria"], persons["nophone"], persons["maria"]])
    answer = await post(
        world,
        f"/campaigns/{campaign}/preview",
        await form(world, "Hallo {{person.first_name|du}}, wie geht's?"),
    )
    assert answer.status_code == 200, answer.text
    html = answer.text
    rows = re.findall(r'<li class="preview-row[^"]*" data-skip="([a-z_]*)">(.*?)</li>', html, re.S)
    seen = [(skip, text_of(body)) for skip, body in rows]
    assert seen[0] == ("", "Maria Kunde +4917655501234 from +4915112345678 Hallo Maria, wie geht's?")
    assert ("no_phone", "Ohne Telefon — Skipped: No phone number") in seen
    assert 'data-reason="no_phone">No phone number: <strong>1</strong>' in html
    assert 'data-will-send="1" data-unchecked="0"' in html  # Maria's number was asked: she has WhatsApp
    assert "Preview 1 of 2 recipients will get the message." in text_of(html)
    assert 'hx-confirm="Send this message to 1 person now?"' in html


async def test_beyond_the_numbers_it_checks_the_preview_says_up_to_how_many_will_get_it(
    world: PanelWorld,
) -> None:
    """A preview asks WhatsApp about the numbers of the rows it shows (ten), not about every recipient:
    each check is a request from the company's number. With twelve, two are not checked, so the figure is
    "up to"; the run checks each before sending, and skips the one without WhatsApp then."""
    assert world.pd is not None and world.waha is not None
    numbers = [f"4917655500{i:03d}" for i in range(12)]
    ids = [
        seed_person(world.pd, world.anna.company_id, f"Kunde{i} Test", phones=["+" + n])["id"]
        for i, n in enumerate(numbers)
    ]
    world.waha.missing_numbers.add(numbers[-1])  # the twelfth, past the rows shown, has no WhatsApp
    campaign = await open_campaign(world, ids)
    compose = await form(world, "Hallo {{person.first_name}}")
    html = (await post(world, f"/campaigns/{campaign}/preview", compose)).text
    assert 'data-will-send="12" data-unchecked="2"' in html
    assert (
        "Up to 12 of 12 recipients will get the message: whether a number has WhatsApp is checked as its "
        "message goes out, and one without is skipped then."
    ) in text_of(html)
    assert 'hx-confirm="Send this message to up to 12 people now?"' in html

    await post(world, f"/campaigns/{campaign}/start", compose)
    await world.settle()
    sent = sorted(m["chat_id"] for m in world.waha.outbox("wp-acme-anna"))
    assert sent == [n + "@c.us" for n in numbers[:11]]


async def test_refusals_are_named_beside_the_form(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.persons["maria"]])
    grace_number = await account_id(world, world.grace)
    cases = [
        ({"text": "   "}, "text", "empty_message"),
        ({"min_gap": "abc"}, "min_gap", "invalid_number"),
        ({"daily_cap": "-1"}, "daily_cap", "invalid_number"),
        ({"min_gap": "90", "max_gap": "10"}, "pacing", "invalid_pacing"),
        ({"quiet_start": "25:00"}, "pacing", "invalid_pacing"),
        ({"account_ids": []}, "account_ids", "no_from_number"),
        ({"account_ids": [str(grace_number)]}, "account_ids", "unknown_from_number"),
        ({"from_mode": "everyone"}, "from_mode", "unknown_from_mode"),
        ({"start_at": "tomorrow"}, "start_at", "invalid_start_time"),
        ({"template_id": "12"}, "template_id", "unknown_template"),
    ]
    for changes, field, reason in cases:
        fields = await form(world, str(changes.pop("text", "Hallo")), **changes)
        for path in (f"/campaigns/{campaign}/preview", f"/campaigns/{campaign}/start"):
            answer = await post(world, path, fields)
            assert answer.status_code == 400, (changes, path, answer.text)
            assert f'data-field="{field}" data-reason="{reason}"' in answer.text, (changes, answer.text)
            assert answer.headers["hx-retarget"] == "#preview"
            assert 'id="compose-form"' not in answer.text  # the typed form stays as it is
            assert 'id="campaign-start"' not in answer.text
    progress = await get(world, f"/campaigns/{campaign}/progress")
    assert 'data-status="draft"' in progress.text  # nothing was started


async def test_a_template_with_a_broken_placeholder_is_refused_by_name(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.persons["maria"]])
    answer = await post(
        world, f"/campaigns/{campaign}/preview", await form(world, "Hallo {{person.first_name")
    )
    assert answer.status_code == 400 and 'data-field="text" data-reason="template_syntax"' in answer.text


async def test_the_opt_out_line_is_added_under_the_message(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.persons["maria"]])
    fields = await form(world, "Hallo {{person.first_name}}", opt_out_line="1")
    answer = await post(world, f"/campaigns/{campaign}/preview", fields)
    assert '<p class="rendered">Hallo Maria\n\nReply STOP to unsubscribe</p>' in answer.text


async def test_start_runs_the_campaign_and_answers_with_its_progress(world: PanelWorld) -> None:
    persons = world.persons
    campaign = await open_campaign(world, [persons["maria"], persons["nophone"]])
    answer = await post(
        world, f"/campaigns/{campaign}/start", await form(world, "Hallo {{person.first_name}}")
    )
    assert answer.status_code == 200, answer.text
    assert 'data-step="progress"' in answer.text and f'data-campaign-id="{campaign}"' in answer.text
    await world.settle()
    assert world.waha is not None
    assert [m["text"] for m in world.waha.outbox("wp-acme-anna")] == ["Hallo Maria"]
    again = await post(world, f"/campaigns/{campaign}/start", await form(world, "Hallo noch einmal"))
    assert again.status_code == 400
    assert 'data-field="campaign" data-reason="campaign_not_draft"' in again.text
    await world.settle()
    assert [m["text"] for m in world.waha.outbox("wp-acme-anna")] == ["Hallo Maria"]


async def test_a_campaign_from_the_saved_filter_the_list_showed(world: PanelWorld) -> None:
    assert world.pd is not None
    company = world.anna.company_id
    rule = condition(world.pd, company, "person", "name", "LIKE '$%'", "Maria")
    saved = seed_filter(world.pd, company, "Marias", "people", [rule])
    page = await world.client.get(
        "/campaigns/modal",
        params={
            "resource": "person",
            "selectedIds": "",
            "filter": json.dumps({"filter_id": saved["id"]}),
            "token": world.token(),
        },
    )
    assert page.status_code == 200, page.text
    assert f'<input type="hidden" name="filter_id" value="{saved["id"]}">' in page.text
    assert "Saved filter: Marias · Reading them from Pipedrive…" in text_of(page.text)
    assert f'<option value="{saved["id"]}" selected>Marias</option>' in page.text

    created = await post(
        world, "/campaigns/modal/source", {"resource": "person", "filter_id": str(saved["id"])}
    )
    assert created.status_code == 200 and "Saved filter: Marias" in text_of(created.text)
    campaign = int(re.search(r'data-campaign-id="(\d+)"', created.text).group(1))  # type: ignore[union-attr]
    preview = await post(
        world, f"/campaigns/{campaign}/preview", await form(world, "Hallo {{person.first_name}}")
    )
    rows = re.findall(r'<p class="recipient"><strong>([^<]+)</strong>', preview.text)
    assert rows == ["Maria Kunde"] and 'data-will-send="1"' in preview.text
    page = await get(world, f"/campaigns/{campaign}")
    assert '<h1 id="campaign-name">Marias</h1>' in page.text  # named after its filter


async def test_without_a_selection_the_modal_offers_the_saved_filters(world: PanelWorld) -> None:
    assert world.pd is not None
    company = world.anna.company_id
    seed_filter(
        world.pd,
        company,
        "Lisas",
        "people",
        [condition(world.pd, company, "person", "name", "LIKE '$%'", "Lokal")],
    )
    page = await world.client.get("/campaigns/modal", params={"resource": "person", "token": world.token()})
    assert page.status_code == 200 and 'hx-trigger="load"' not in page.text
    assert "Send to everyone a saved Pipedrive filter finds" in page.text and ">Lisas</option>" in page.text


async def test_a_deal_lists_campaign_writes_to_each_deals_person(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.deal_id], resource="deal")
    page = await get(world, f"/campaigns/{campaign}")
    assert page.status_code == 200
    preview = await post(world, f"/campaigns/{campaign}/preview", await form(world, "{{deal.title}}: Hallo"))
    rows = re.findall(r'<p class="rendered">([^<]*)</p>', preview.text)
    assert rows == ["Maria&#39;s order: Hallo"]


async def test_a_placeholder_without_a_value_is_named_in_the_preview(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.persons["maria"]])
    text = "Hallo {{person.first_name}} von {{org.name}}, {{org.name|Ihr Team}}"
    preview = await post(world, f"/campaigns/{campaign}/preview", await form(world, text))
    assert '<p class="rendered">Hallo Maria von , Ihr Team</p>' in preview.text
    assert '<p class="hint missing">No value for {{org.name}}</p>' in preview.text


async def test_the_modal_still_opens_a_selection_when_pipedrive_cannot_list_the_filters(
    world: PanelWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.domain.errors import Transient
    from server.services.campaigns import Campaigns

    async def unavailable(self: Campaigns, company_id: int, kind: object) -> list[object]:
        raise Transient(Text("Pipedrive is down"), reason="pipedrive_unavailable")

    monkeypatch.setattr(Campaigns, "filters", unavailable)
    page = await world.client.get(
        "/campaigns/modal", params={"resource": "person", "selectedIds": "1", "token": world.token()}
    )
    assert page.status_code == 200 and 'name="selectedIds" value="1"' in page.text
    assert 'id="no-filters"' in page.text
    alone = await world.client.get("/campaigns/modal", params={"resource": "person", "token": world.token()})
    assert alone.status_code == 503 and "pipedrive_unavailable" in reasons(alone.text)


async def test_a_template_fills_the_message_box_to_edit_and_is_previewed(world: PanelWorld) -> None:
    saved = await world.client.post(
        "/settings/templates",
        data={"scope": "company", "name": "Frühling", "text": "Hallo {{person.first_name|du}}, <Angebot>!"},
        headers=world.headers(),
    )
    assert saved.status_code == 200, saved.text
    grace = await world.client.post(
        "/settings/templates",
        data={"scope": "company", "name": "Globex only", "text": "Hi from Globex"},
        headers=world.headers(world.grace),
    )
    assert grace.status_code == 200, grace.text
    created = await post(world, "/campaigns/modal/source", {"resource": "person", "selectedIds": "1"})
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', created.text)
    assert [name for _, name in options] == ["Free text", "Frühling"]  # not another company's
    template_id = next(value for value, name in options if name == "Frühling")

    box = await get(world, f"/campaigns/template?template_id={template_id}")
    assert box.status_code == 200 and box.headers["hx-trigger-after-settle"] == "template-picked"
    assert ">Hallo {{person.first_name|du}}, &lt;Angebot&gt;!</textarea>" in box.text
    theirs = [row["id"] for row in await world.rows(MessageTemplateRow) if row["name"] == "Globex only"]
    for other in (*theirs, 999999):
        refused = await get(world, f"/campaigns/template?template_id={other}")
        assert refused.status_code == 404 and reasons(refused.text) == ["template_not_found"]
        assert "Globex" not in refused.text

    campaign = int(re.search(r'data-campaign-id="(\d+)"', created.text).group(1))  # type: ignore[union-attr]
    fields = await form(world, "Hallo {{person.first_name|du}}, <Angebot>!", template_id=template_id)
    preview = await post(world, f"/campaigns/{campaign}/preview", fields)
    assert '<p class="rendered">Hallo Maria, &lt;Angebot&gt;!</p>' in preview.text


async def test_a_templates_attachment_is_previewed_and_sent_to_every_recipient(world: PanelWorld) -> None:
    offer = world.files["offer"]
    saved = await world.client.post(
        "/settings/templates",
        data={"scope": "company", "name": "Angebot", "text": "Hallo {{person.first_name}}", "file_id": offer},
        headers=world.headers(),
    )
    assert saved.status_code == 200, saved.text
    [template] = [row["id"] for row in await world.rows(MessageTemplateRow) if row["name"] == "Angebot"]
    campaign = await open_campaign(world, [world.persons["maria"], world.persons["local"]])
    fields = await form(world, "Hallo {{person.first_name}}", template_id=str(template))

    preview = await post(world, f"/campaigns/{campaign}/preview", fields)
    assert "Each message carries the template's attachment offer.pdf." in text_of(preview.text)
    free = await post(world, f"/campaigns/{campaign}/preview", await form(world, "Hallo"))
    assert "attachment" not in text_of(free.text)  # free text carries none

    started = await post(world, f"/campaigns/{campaign}/start", fields)
    assert started.status_code == 200, started.text
    await world.settle()
    sent = world.waha.outbox("wp-acme-anna")  # type: ignore[union-attr]
    assert sorted((entry["text"], entry["filename"]) for entry in sent) == [
        ("Hallo Lokal", "offer.pdf"),
        ("Hallo Maria", "offer.pdf"),
    ]
    assert {entry["sha256"] for entry in sent} == {hashlib.sha256(b"%PDF-1.4 offer").hexdigest()}
