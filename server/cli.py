"""The ``wapipe`` command: serve, worker, migrate, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from server.domain.errors import NotMigrated, Permanent, Transient
from server.logs import configure_logging
from server.settings import Mode, Settings, load_settings

log = logging.getLogger("wapipe")
DEMO_LOG = "demo.log"  # in WAPIPE_VAR_DIR: everything the demo logs


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ValidationError as error:
        problems = "\n".join(f"  - {e['msg'].removeprefix('Value error, ')}" for e in error.errors())
        raise SystemExit(f"wapipe: the configuration cannot run:\n{problems}") from None


def _configure_logs(settings: Settings) -> None:
    configure_logging(settings.log_level, fmt=settings.log_format, secrets=settings.secret_values())


def _check_ready(settings: Settings, *, media: bool = True) -> None:
    """Before a command uses them: the database is migrated, and (``media``) the attachments' bucket, when
    one is configured, takes WaPipe's writes, reads and deletes. A bucket that does not answer only warns: the
    attachments wait and are retried until it does, as they would if it went away later."""
    from server.media_store import check_media_store
    from server.storage.engine import make_async_engine
    from server.storage.migrate import ensure_migrated

    async def check() -> None:
        engine = make_async_engine(settings.effective_database_url)
        try:
            await ensure_migrated(engine)
        finally:
            await engine.dispose()
        if media:
            await check_media_store(settings)

    try:
        asyncio.run(check())
    except NotMigrated as error:
        raise SystemExit(f"wapipe: {error}") from None
    except Transient as error:
        log.warning("the attachments' bucket did not answer at start", extra={"error": str(error)})
    except Permanent as error:
        raise SystemExit(
            f"wapipe: the attachments' bucket cannot be used ({error.reason}): {error}"
        ) from None


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from server.web.app import create_app

    _check_ready(settings)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, proxy_headers=True)


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings()
    _configure_logs(settings)
    _serve(settings, args.host or settings.host, args.port or settings.port)


def cmd_worker(args: argparse.Namespace) -> None:
    from server.jobs.worker import run_worker

    settings = _settings()
    _configure_logs(settings)
    _check_ready(settings)
    run_worker(settings, burst=args.burst)


def cmd_migrate(args: argparse.Namespace) -> None:
    from server.storage.migrate import upgrade

    settings = _settings()
    _configure_logs(settings)
    upgrade(settings.effective_database_url, args.revision)
    log.info("database migrated", extra={"revision": args.revision})


def cmd_rotate_keys(args: argparse.Namespace) -> None:
    from server.crypto import SecretBox
    from server.domain.clock import SystemClock
    from server.domain.errors import WaPipeError
    from server.storage.embedded_sessions import SqlEmbeddedSessions
    from server.storage.engine import make_async_engine
    from server.storage.installations import SqlInstallationStore

    settings = _settings()
    _configure_logs(settings)
    _check_ready(settings, media=False)

    async def rotate() -> tuple[int, int]:
        engine = make_async_engine(settings.effective_database_url)
        try:
            box = SecretBox.from_setting(settings.encryption_keys.get_secret_value())
            installations = await SqlInstallationStore(engine, box).rotate_keys()
            sessions = await SqlEmbeddedSessions(engine, box, SystemClock()).rotate_keys()
            return installations, sessions
        finally:
            await engine.dispose()

    try:
        changed, sessions = asyncio.run(rotate())
    except WaPipeError as error:
        raise SystemExit(f"wapipe rotate-keys: {error.message}") from None
    print(f"Re-encrypted the tokens of {changed} installation(s) with the newest key.", flush=True)
    if sessions:
        print(f"Re-encrypted the secrets of {sessions} embedded WhatsApp session(s).", flush=True)
    log.info("encryption keys rotated", extra={"installations": changed, "sessions": sessions})


def cmd_demo(args: argparse.Namespace) -> None:
    from server.demo import demo_addresses, demo_settings_overrides, serve_demo
    from server.demo_guard import DemoRefused, claim_ports, demo_lock
    from server.logs import configure_demo_logging
    from server.storage.migrate import upgrade

    os.environ.setdefault("WAPIPE_MODE", Mode.DEMO.value)
    addresses = demo_addresses(args.host, args.port, args.pipedrive_port, args.waha_port)
    # The demo is the embedded default: SQLite and in-process jobs, whatever the shell exported.
    settings = _settings(**demo_settings_overrides(addresses))
    if settings.is_production:
        raise SystemExit("wapipe demo: WAPIPE_MODE must be demo (it is unset by default)")
    # Nothing is touched before this demo holds its folder and its ports: a second demo started while
    # one runs stops here, and the running one keeps its database, media and log.
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(demo_lock(settings.var_dir))
            sockets = claim_ports(args.host, [args.port, args.pipedrive_port, args.waha_port])
        except DemoRefused as refused:
            raise SystemExit(f"wapipe demo: {refused}") from None
        for sock in sockets:
            held.callback(sock.close)
        log_file = settings.var_dir / DEMO_LOG
        configure_demo_logging(log_file, secrets=settings.secret_values())
        # The sandboxes start empty every time; WaPipe's demo data starts with them, or it would hold
        # tokens and sessions nobody knows any more.
        (settings.var_dir / "wapipe.db").unlink(missing_ok=True)
        if settings.media_dir.resolve().is_relative_to(settings.var_dir.resolve()):
            shutil.rmtree(settings.media_dir, ignore_errors=True)
        print(
            f"""
  WaPipe demo is starting (Ctrl+C stops it):
    WaPipe status page    {addresses.wapipe}/
    WaPipe health         {addresses.wapipe}/healthz
    Pipedrive sandbox     {addresses.pipedrive}/   (companies, users and people to open)
    WhatsApp sandbox      {addresses.waha}/   (the simulated phone)
    Full log              {log_file}   (here: warnings, errors and WaPipe's events only)
  Installing WaPipe as Anna Admin and linking her number; where to click follows in a moment.
""",
            flush=True,
        )
        upgrade(settings.effective_database_url)
        asyncio.run(serve_demo(settings, addresses, sockets, bootstrap=True, log_file=log_file))


def cmd_erase(args: argparse.Namespace) -> None:
    import json

    from server.domain.settings_form import FieldError, contact_number
    from server.media_store import open_media_files
    from server.storage.companies import SqlCompanyStore
    from server.storage.engine import make_async_engine
    from server.storage.erasure import erase_contact

    settings = _settings()
    _configure_logs(settings)
    _check_ready(settings)
    e164 = contact_number(args.phone)  # the settings page's rules: nothing cut short, every refusal named
    if isinstance(e164, FieldError):
        raise SystemExit(f"wapipe erase: {e164.reason}: {e164.message}")

    async def run() -> dict[str, object]:
        engine = make_async_engine(settings.effective_database_url)
        try:
            company = await SqlCompanyStore(engine).get(args.company)
            if company is None:
                raise SystemExit(f"wapipe erase: no company with Pipedrive id {args.company} uses WaPipe")
            async with open_media_files(settings) as files:
                report = await erase_contact(engine, company.id, e164, files=files)
        finally:
            await engine.dispose()
        return report.as_dict()

    result = asyncio.run(run())
    log.info("contact erased", extra={"company": args.company})
    print(json.dumps(result, indent=2, ensure_ascii=False))


def cmd_link_cloud(args: argparse.Namespace) -> None:
    import json

    from server.domain.errors import WaPipeError
    from server.services.numbers import link_cloud_number
    from server.storage.accounts import SqlAccountStore
    from server.storage.companies import SqlCompanyStore
    from server.storage.engine import make_async_engine
    from server.storage.inbox import SqlInboxStore
    from server.transports import build_transports, cloud_http_client, waha_http_client

    settings = _settings()
    _configure_logs(settings)
    _check_ready(settings, media=False)
    cloud_http = cloud_http_client(settings)
    if cloud_http is None:
        raise SystemExit(
            "wapipe link-cloud: cloud_not_configured: set WAPIPE_CLOUD_ACCESS_TOKEN, WAPIPE_CLOUD_APP_SECRET "
            "and WAPIPE_CLOUD_VERIFY_TOKEN (see docs/deployment.md, WhatsApp)"
        )

    async def run() -> dict[str, object]:
        engine = make_async_engine(settings.effective_database_url)
        async with cloud_http, waha_http_client(settings) as waha_http:
            try:
                company = await SqlCompanyStore(engine).get(args.company)
                if company is None:
                    raise SystemExit(
                        f"wapipe link-cloud: no company with Pipedrive id {args.company} uses WaPipe"
                    )
                transport = build_transports(settings, waha_http, cloud_http)["cloud"]
                account = await link_cloud_number(
                    SqlAccountStore(engine),
                    SqlInboxStore(engine),
                    transport,
                    company_id=company.id,
                    user_id=args.user,
                    phone_number_id=args.phone_number_id,
                )
            except WaPipeError as error:
                raise SystemExit(f"wapipe link-cloud: {error.reason}: {error.message}") from None
            finally:
                await engine.dispose()
        return {"account": account.id, "number": account.e164, "status": account.status}

    print(json.dumps(asyncio.run(run()), indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wapipe",
        description="WaPipe: log WhatsApp conversations into Pipedrive and reply from Pipedrive.",
        epilog="Configuration comes from WAPIPE_* environment variables (see docs/configuration.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the web process (Procfile: web)",
        description="Run the web process: OAuth, panels, webhooks, /healthz.",
    )
    serve.add_argument("--host", help="address to bind (default WAPIPE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default WAPIPE_PORT or 8000)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser(
        "worker",
        help="run an arq worker on Redis (Procfile: worker)",
        description="Run an arq worker taking jobs from WAPIPE_REDIS_URL.",
    )
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    worker.set_defaults(handler=cmd_worker)

    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema (Procfile: release)",
        description="Upgrade the database at WAPIPE_DATABASE_URL with Alembic.",
    )
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.set_defaults(handler=cmd_migrate)

    rotate = commands.add_parser(
        "rotate-keys",
        help="re-encrypt stored tokens with the newest encryption key",
        description=(
            "Re-encrypt every stored OAuth token with the first key of WAPIPE_ENCRYPTION_KEYS. Put the new "
            "key first, keep the old ones after it, run this, then remove the old keys."
        ),
    )
    rotate.set_defaults(handler=cmd_rotate_keys)

    erase = commands.add_parser(
        "erase",
        help="erase a contact's chats, messages and attachments from WaPipe",
        description="Erase everything WaPipe holds about one phone number in one company (a data-protection "
        "request) and list what WaPipe wrote into Pipedrive, which stays there.",
    )
    erase.add_argument("--company", type=int, required=True, help="the Pipedrive company id")
    erase.add_argument("--phone", required=True, help="the contact's number, e.g. +4915112345678")
    erase.set_defaults(handler=cmd_erase)

    link_cloud = commands.add_parser(
        "link-cloud",
        help="link a WhatsApp Business number of the Cloud API to a team member",
        description="Link a number of Meta's WhatsApp Cloud API (no QR code: its phone number id from "
        "WhatsApp Manager, and the app's token in WAPIPE_CLOUD_ACCESS_TOKEN) to a Pipedrive user.",
    )
    link_cloud.add_argument("--company", type=int, required=True, help="the Pipedrive company id")
    link_cloud.add_argument("--user", type=int, required=True, help="the Pipedrive user id who owns it")
    link_cloud.add_argument("--phone-number-id", required=True, help="Meta's phone number id (digits)")
    link_cloud.set_defaults(handler=cmd_link_cloud)

    demo = commands.add_parser(
        "demo",
        help="run the embedded demo on loopback",
        description="Run the embedded default: SQLite, in-process jobs and the sandboxes, on loopback.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="WaPipe's port (default 8000)")
    demo.add_argument(
        "--pipedrive-port", type=int, default=8100, help="the Pipedrive sandbox's port (default 8100)"
    )
    demo.add_argument(
        "--waha-port", type=int, default=8200, help="the WhatsApp sandbox's port (default 8200)"
    )
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main(sys.argv[1:])
