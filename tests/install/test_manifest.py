"""Every URL path in ``manifest/`` is a route of the app, or is named in the explicit pending list below.

Pending: nothing. The rule is failing-safe: a manifest path that is neither a route nor pending fails,
and so does a pending path that has become a route (remove it here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

from sandbox.pipedrive.seed import ALL_SCOPES
from server.settings import Settings
from server.web.app import create_app

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifest"
PENDING_ROUTES: dict[str, str] = {}


def manifest_paths(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """``(where, path)`` for every value under a key ending in ``_path``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_path"):
                assert isinstance(item, str), f"{where}.{key} must be a string"
                yield f"{where}.{key}", item
            else:
                yield from manifest_paths(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from manifest_paths(item, f"{where}[{index}]")


def routes(make_settings: Callable[..., Settings]) -> dict[str, set[str]]:
    app = create_app(make_settings())
    found: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, Route):
            found.setdefault(route.path, set()).update(route.methods or ())
    return found


def all_manifest_paths() -> list[tuple[str, str]]:
    found = []
    for file in sorted(MANIFEST_DIR.glob("*.json")):
        found += [
            (f"{file.name}{where}", path) for where, path in manifest_paths(json.loads(file.read_text()))
        ]
    return found


def test_the_manifest_names_its_paths() -> None:
    paths = dict(all_manifest_paths())
    assert paths["app.json.oauth.callback_url_path"] == "/oauth/callback"
    assert paths["app.json.oauth.installation_url_path"] == "/install"
    assert "/panel" in paths.values() and "/settings" in paths.values()


@pytest.mark.parametrize(("where", "path"), all_manifest_paths())
def test_every_manifest_path_is_a_route_or_explicitly_pending(
    make_settings: Callable[..., Settings], where: str, path: str
) -> None:
    assert path.startswith("/") and "://" not in path, f"{where}: paths are relative to WAPIPE_PUBLIC_URL"
    known = routes(make_settings)
    if path in PENDING_ROUTES:
        assert path not in known, f"{path} is a route now: remove it from PENDING_ROUTES"
        return
    assert path in known, f"{where}: {path} is not a route of the app (and not in PENDING_ROUTES)"
    assert "GET" in known[path]


def test_the_callback_takes_every_method_pipedrive_uses(make_settings: Callable[..., Settings]) -> None:
    manifest = json.loads((MANIFEST_DIR / "app.json").read_text())
    methods = set(manifest["oauth"]["callback_methods"])
    assert methods == {"GET", "DELETE", "POST"}
    assert methods <= routes(make_settings)["/oauth/callback"]


def test_every_scope_has_a_reason() -> None:
    manifest = json.loads((MANIFEST_DIR / "app.json").read_text())
    scopes = manifest["oauth"]["scopes"]
    assert all(item["reason"].strip() for item in scopes)
    # The demo registers WaPipe in the Pipedrive sandbox with exactly these scopes.
    assert {item["scope"] for item in scopes} == set(ALL_SCOPES)


def test_the_campaign_modal_opens_from_the_person_and_deal_lists() -> None:
    manifest = json.loads((MANIFEST_DIR / "app.json").read_text())
    panel = manifest["extensions"]["custom_panels"][0]
    modals = manifest["extensions"]["custom_modals"]
    assert [m["name"] for m in modals] == ["Send WhatsApp campaign"]
    modal = modals[0]
    assert modal["iframe_url_path"] == "/campaigns/modal"
    assert set(modal["entry_points"]) == {"person_list", "deal_list"}
    # Signed like the panel, so one secret checks both (Pipedrive: 3 modals or link actions per view).
    assert modal["jwt_secret_setting"] == panel["jwt_secret_setting"]
    assert len(modal["name"]) <= 30 and len(modal["description"]) <= 150
