"""Two processes, one bucket, no shared disk. The process that runs the jobs downloads a contact's
attachments into the bucket (moto's S3, signatures checked) and writes nothing into its own media folder;
a second web process, with a media folder of its own that stays empty and jobs left to the workers (Redis),
serves them from the bucket through the chat view and the panel's signed link with the headers a file from
disk has. A message its sender deletes takes its file out of the bucket (in the process running the jobs), a
file gone from the bucket behind WaPipe's back is "no longer stored", not an error, and erasing the contact
on the web process's settings page empties the bucket."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
from sqlalchemy import select

from sandbox.pipedrive.app import create_app as create_pipedrive
from server.settings import Settings
from server.storage.tables import Company, Message, table_of
from server.web.app import create_app
from server.web.resources import Upstreams
from tests.chat_view.test_chat_view import chat_id_of, sign_in
from tests.chat_view.test_media_as_data import CONTACT, HOSTILE, PLAYABLE, SESSION, Sent, check
from tests.media.s3_server import REGION, S3Server
from tests.media.test_media_files import on_disk
from tests.panel.test_panel import signed_media_path
from tests.panel.world import PanelWorld, panel_world
from tests.world import WAPIPE, world_settings_overrides

PHOTO, VOICE = PLAYABLE[0], PLAYABLE[1]
PAGE = next(sent for sent in HOSTILE if sent.filename == "page.html")
FILES = [PHOTO, VOICE, PAGE]
PREFIX = "wapipe/media/"


def bucket_settings(s3: S3Server, bucket: str) -> dict[str, object]:
    return {
        "media_s3_bucket": bucket,
        "media_s3_endpoint": s3.endpoint,
        "media_s3_region": REGION,
        "media_s3_access_key_id": s3.access_key_id,
        "media_s3_secret_access_key": s3.secret_access_key,
        "media_s3_prefix": PREFIX,
    }


def object_of(sent: Sent) -> str:
    sha256 = hashlib.sha256(sent.data).hexdigest()
    return f"{PREFIX}{sha256[:2]}/{sha256}"


async def receive(world: PanelWorld, files: list[Sent]) -> tuple[dict[str, int], dict[str, str]]:
    """The contact sends each file; the stored messages' ids and their WhatsApp ids, by file name."""
    whatsapp_ids = {
        sent.filename: world.waha.receive(
            SESSION,
            CONTACT,
            "",
            kind=sent.kind,
            data=sent.data,
            mimetype=sent.mimetype,
            filename=sent.filename,
        ).id
        for sent in files
    }
    await world.settle()
    table = table_of(Message)
    async with world.resources.engine.connect() as connection:
        rows = (await connection.execute(select(table.c.id, table.c.media_filename))).all()
    return {str(name): int(message_id) for message_id, name in rows if name}, whatsapp_ids


@contextlib.asynccontextmanager
async def web_process(world: PanelWorld, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another WaPipe web process over the same database, reaching the same Pipedrive sandbox."""
    app = create_app(
        settings,
        Upstreams(pipedrive=httpx.ASGITransport(app=create_pipedrive(world.pd)), clock=world.clock),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WAPIPE) as client,
    ):
        yield client


async def test_a_file_one_process_downloaded_is_served_by_another_from_the_bucket(
    make_settings: Callable[..., Settings], s3_server: S3Server, redis_url: str, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    jobs_settings = make_settings(
        **world_settings_overrides(), **bucket_settings(s3_server, bucket), media_dir=tmp_path / "jobs-media"
    )
    web_media = tmp_path / "web-media"  # the web process's own folder: never written
    web_settings = jobs_settings.model_copy(update={"media_dir": web_media, "redis_url": redis_url})
    async with panel_world(jobs_settings) as world:
        ids, whatsapp_ids = await receive(world, FILES)
        assert s3_server.objects(bucket) == {object_of(sent): sent.data for sent in FILES}
        assert on_disk(tmp_path / "jobs-media") == {}
        [company_id] = [
            c["id"] for c in await world.rows(Company) if c["pipedrive_company_id"] == world.anna.company_id
        ]
        chat_id = await chat_id_of(world, "+" + CONTACT)

        async with web_process(world, web_settings) as web:
            expires = int(time.time()) + 600  # valid while the test runs
            for sent in FILES:
                check(await web.get(signed_media_path(world, company_id, ids[sent.filename], expires)), sent)
            assert (await sign_in(world, web, world.anna, chat_id)).status_code == 200
            for sent in FILES:
                answer = await web.get(f"/chats/{chat_id}/media/{ids[sent.filename]}")
                check(answer, sent)
                assert answer.headers["content-length"] == str(len(sent.data))

            world.waha.revoke_message(SESSION, whatsapp_ids[VOICE.filename])  # deleted for everyone
            await world.settle()
            assert s3_server.objects(bucket) == {object_of(sent): sent.data for sent in (PHOTO, PAGE)}
            gone = await web.get(f"/chats/{chat_id}/media/{ids[VOICE.filename]}")
            assert gone.status_code == 404

            s3_server.client().delete_object(Bucket=bucket, Key=object_of(PHOTO))  # behind WaPipe's back
            lost = await web.get(f"/chats/{chat_id}/media/{ids[PHOTO.filename]}")
            assert lost.status_code == 404 and "This attachment is no longer stored." in lost.text
            signed = await web.get(signed_media_path(world, company_id, ids[PHOTO.filename], expires))
            assert signed.status_code == 404
            check(await web.get(f"/chats/{chat_id}/media/{ids[PAGE.filename]}"), PAGE)

            erased = await web.post(  # the admin erases the contact on the settings page
                "/settings/erase", data={"phone": "+" + CONTACT, "confirm": "yes"}, headers=world.headers()
            )
            assert erased.status_code == 200 and 'data-stage="done"' in erased.text
            assert s3_server.objects(bucket) == {}
    assert on_disk(web_media) == {} and on_disk(tmp_path / "jobs-media") == {}
