"""Vendored front-end files are exactly the pinned releases, and nothing loads from a CDN."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"
MANIFEST = json.loads((VENDOR / "VENDOR.json").read_text())


@pytest.mark.parametrize("entry", MANIFEST["files"], ids=lambda e: e["file"])
def test_vendored_file_matches_its_pinned_hash(entry: dict[str, str]) -> None:
    data = (VENDOR / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert (VENDOR / entry["license_file"]).is_file()


def test_htmx_is_on_the_2x_line() -> None:
    entry = next(e for e in MANIFEST["files"] if e["package"] == "htmx.org")
    assert entry["version"].startswith("2.")
    source = (VENDOR / entry["file"]).read_text()
    assert re.search(r'version:"2\.\d+\.\d+"', source)


def test_the_sdk_is_the_umd_build_with_its_global() -> None:
    source = (VENDOR / "app-extensions-sdk.umd.js").read_text()
    assert ".AppExtensionsSDK=" in source


def test_every_vendored_file_is_listed() -> None:
    listed = {e["file"] for e in MANIFEST["files"]}
    present = {p.name for p in VENDOR.glob("*.js")}
    assert present == listed


def test_no_page_loads_a_script_from_another_origin() -> None:
    pattern = re.compile(r"""<script[^>]+src=["'](?!/)""", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("templates", "sandbox")
        for path in (ROOT / folder).rglob("*.html")
        if pattern.search(path.read_text())
    ]
    assert offenders == []
