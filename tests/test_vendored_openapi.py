"""The vendored API descriptions are the listed files, unchanged, read from inside the repository."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import OPENAPI_DIR, VENDORED_OPENAPI

MANIFEST = json.loads((VENDORED_OPENAPI / "VENDOR.json").read_text())


@pytest.mark.parametrize("entry", MANIFEST["files"], ids=lambda e: e["file"])
def test_each_vendored_document_matches_its_listed_hash(entry: dict[str, str]) -> None:
    data = (VENDORED_OPENAPI / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert entry["source"] and entry["license"] and entry["version"]


def test_every_vendored_document_is_listed() -> None:
    present = {
        str(path.relative_to(VENDORED_OPENAPI))
        for path in VENDORED_OPENAPI.rglob("*")
        if path.suffix in {".yaml", ".json"} and path.name != "VENDOR.json"
    }
    assert present == {entry["file"] for entry in MANIFEST["files"]}


def test_the_contract_tests_read_the_documents_inside_the_repository() -> None:
    repository = VENDORED_OPENAPI.parents[1]
    assert OPENAPI_DIR.is_relative_to(repository)
    assert (OPENAPI_DIR / "v1.yaml").is_file()
    assert (OPENAPI_DIR / "v2.yaml").is_file()
