"""A campaign's progress over HTTP: the bar and the counts by status and skip reason, live while it runs;
pause, resume and cancel, each in the campaign's history with who did it; the list of campaigns; the
result per recipient as a CSV a spreadsheet cannot be tricked by."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sandbox.pipedrive.seed import seed_person
from server.storage.audit import SqlAuditLog
from server.storage.companies import SqlCompanyStore
from tests.campaigns_web.steps import form, get, open_campaign, post, reasons, text_of
from tests.panel.world import PanelWorld


def count(html: str, status: str) -> int:
    found = re.search(rf'<div data-status="{status}"><dt>[^<]*</dt><dd>(\d+)</dd></div>', html)
    assert found is not None, status
    return int(found.group(1))


def history(html: str) -> list[str]:
    return [
        text_of(item) for item in re.findall(r'<li data-action="campaign\.[a-z]+">(.*?)</li>', html, re.S)
    ]


async def test_progress_counts_live_and_pause_resume_cancel_are_recorded(world: PanelWorld) -> None:
    persons = world.persons
    campaign = await open_campaign(world, [persons["maria"], persons["nophone"]])
    started = await post(
        world, f"/campaigns/{campaign}/start", await form(world, "Hallo {{person.first_name}}")
    )
    assert started.status_code == 200, started.text
    live = started.text
    assert (
        f'hx-get="/campaigns/{campaign}/progress" hx-trigger="every {world.settings.progress_poll:g}s"'
        in live
    )
    assert (
        count(live, "skipped") == 1 and 'data-reason="no_phone">No phone number: <strong>1</strong>' in live
    )
    assert (
        'id="campaign-pause"' in live
        and 'id="campaign-cancel"' in live
        and 'id="campaign-resume"' not in live
    )

    paused = await post(world, f"/campaigns/{campaign}/pause")
    assert paused.status_code == 200 and 'data-status="paused"' in paused.text
    assert 'id="campaign-resume"' in paused.text and "hx-trigger" not in paused.text  # nothing moves now
    resumed = await post(world, f"/campaigns/{campaign}/resume")
    assert 'data-status="paused"' not in resumed.text and 'id="campaign-pause"' in resumed.text

    await world.settle()
    done = await get(world, f"/campaigns/{campaign}/progress")
    assert 'data-status="finished"' in done.text and 'data-done="100"' in done.text
    assert count(done.text, "pending") == 0 and count(done.text, "skipped") == 1
    assert count(done.text, "sent") + count(done.text, "delivered") + count(done.text, "read") == 1
    assert "hx-trigger" not in done.text and 'id="campaign-cancel"' not in done.text
    entries = history(done.text)
    assert [entry.split(" by ")[0] for entry in entries] == ["Created", "Started", "Paused", "Resumed"]
    assert all(" by Anna Admin, " in entry for entry in entries)

    # A busy company writes much else to its audit log (opt-outs, sends): the history stays whole.
    audit = SqlAuditLog(world.resources.engine)
    company = await SqlCompanyStore(world.resources.engine).get(world.anna.company_id)
    assert company is not None
    for n in range(600):
        await audit.record(company.id, 0, "campaign.opt_out", f"+49170{n:07d}", {})
    later = await get(world, f"/campaigns/{campaign}/progress")
    assert [entry.split(" by ")[0] for entry in history(later.text)] == [
        "Created",
        "Started",
        "Paused",
        "Resumed",
    ]


async def test_a_cancelled_campaign_sends_nothing_more(world: PanelWorld) -> None:
    campaign = await open_campaign(world, [world.persons["maria"]])
    await post(
        world, f"/campaigns/{campaign}/start", await form(world, "Hallo", min_gap="3600", max_gap="3600")
    )
    await post(world, f"/campaigns/{campaign}/pause")
    cancelled = await post(world, f"/campaigns/{campaign}/cancel")
    assert 'data-status="cancelled"' in cancelled.text
    assert [entry.split(" by ")[0] for entry in history(cancelled.text)][-1] == "Cancelled"
    again = await post(world, f"/campaigns/{campaign}/resume")
    assert again.status_code == 409 and reasons(again.text) == ["campaign_ended"]
    assert 'data-status="cancelled"' in again.text  # the page as it is now, with why


async def test_the_list_shows_each_campaign_with_its_status(world: PanelWorld) -> None:
    first = await open_campaign(world, [world.persons["maria"]])
    second = await open_campaign(world, [world.persons["maria"], world.persons["local"]])
    third = await open_campaign(world, [world.persons["local"]])
    hour = await form(world, "Hallo", min_gap="3600", max_gap="3600")
    await post(world, f"/campaigns/{second}/start", hour)  # Maria's message now, Lisa's in an hour
    await post(world, f"/campaigns/{third}/start", await form(world, "Hallo"))
    await world.settle(until=world.clock.now() + timedelta(minutes=5))  # the jobs are run, not raced
    page = await world.client.get("/campaigns", params={"token": world.token()})
    assert page.status_code == 200 and "<h1>WhatsApp campaigns</h1>" in page.text
    rows = re.findall(r'<tr data-campaign-id="(\d+)" data-status="([a-z]+)">', page.text)
    assert {int(i): s for i, s in rows} == {first: "draft", second: "running", third: "finished"}
    assert f'hx-get="/campaigns/{first}"' in page.text
    whole = await world.client.get(f"/campaigns/{first}", params={"token": world.token()})
    assert "<!doctype html>" in whole.text and '<script src="/static/js/frame.js"></script>' in whole.text
    inner = await get(world, f"/campaigns/{first}")
    assert "<!doctype html>" not in inner.text and inner.text.lstrip().startswith('<main id="campaign-root"')


async def test_the_results_csv_is_an_attachment_with_formula_cells_neutralised(world: PanelWorld) -> None:
    assert world.pd is not None
    tricky = seed_person(world.pd, world.anna.company_id, '=HYPERLINK("http://evil","x")', phones=[])["id"]
    named = seed_person(world.pd, world.anna.company_id, "山田 花子", phones=[])["id"]
    campaign = await open_campaign(world, [world.persons["maria"], tricky, named])
    await post(world, f"/campaigns/{campaign}/start", await form(world, "Hallo"))
    await world.settle()
    answer = await world.client.get(f"/campaigns/{campaign}/results.csv", headers=world.headers())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="campaign-{campaign}-results.csv"'
    body = answer.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil","x")' in cells
    assert "山田 花子" in cells
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)
    assert "'+4917655501234" in cells  # a phone number reads as text too
    assert len(rows) == 4  # a header and one row per recipient


async def test_the_stop_words_are_saved_one_a_line_and_refused_by_name(world: PanelWorld) -> None:
    saved = await post(world, "/campaigns/stop-words", {"words": "STOP\n  halt  \n\nストップ\nstop"})
    assert saved.status_code == 200 and 'id="stop-words-saved"' in saved.text
    assert ">STOP\nhalt\nストップ</textarea>" in saved.text
    page = await get(world, "/campaigns")
    assert ">STOP\nhalt\nストップ</textarea>" in page.text
    refused = await post(world, "/campaigns/stop-words", {"words": " \n "})
    assert refused.status_code == 400 and reasons(refused.text) == ["invalid_stop_words"]
    too_long = "x" * 41
    kept = await post(world, "/campaigns/stop-words", {"words": f"STOP\n{too_long}"})
    assert kept.status_code == 400 and f"STOP\n{too_long}</textarea>" in kept.text  # as typed


def test_every_cell_that_could_start_a_formula_is_text() -> None:
    from server.web.campaigns import safe_cell, safe_csv

    for cell in ("=1+1", "+49 170", "-2", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(cell) == "'" + cell
    for cell in ("Maria", "", "'=already text", "1=1", "山田"):
        assert safe_cell(cell) == cell
    assert safe_csv('a,b\r\n"=x,y",@z\r\n') == "a,b\r\n\"'=x,y\",'@z\r\n"
