"""The labelled corpus (bench/data/matching_corpus.json, from scripts/gen_matching_corpus.py) through the
company's phone index: no wrong Person ever (precision 1.000) and at least 99 % of the links that should
be made (recall). The expected links are the corpus's labels, written when the corpus was built from
libphonenumber's example numbers, never by the matcher; ``bench.matching_bench`` prints the same with
every failure."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from server.domain.matching import PersonPhones, PhoneIndex, candidates_from

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "data" / "matching_corpus.json"


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    return loaded


def persons(case: dict[str, Any]) -> list[PersonPhones]:
    return [
        PersonPhones(p["id"], tuple(p["phones"]), datetime.fromisoformat(p["updated"]))
        for p in case["persons"]
    ]


def test_the_corpus_is_as_large_and_as_wide_as_promised(cases: list[dict[str, Any]]) -> None:
    assert len(cases) >= 500
    assert len({case["id"].split("-")[0] for case in cases}) >= 40
    assert {case["group"] for case in cases} == {"written", "variant", "fuzzy", "trap"}
    assert sum(case["expected"] is None for case in cases) >= 100  # traps where no Person may be linked


def test_no_wrong_person_and_at_least_99_percent_of_the_links(cases: list[dict[str, Any]]) -> None:
    made = correct = expected = 0
    wrong: list[str] = []
    for case in cases:
        index = PhoneIndex(case["company_country"])
        index.apply(persons(case))
        result = index.match(case["chat"])
        expected += case["expected"] is not None
        if result is None:
            continue
        made += 1
        if result.person_id == case["expected"]:
            correct += 1
        else:
            wrong.append(f"{case['id']}: Person {result.person_id} ({result.rule.value}, {result.phone!r})")
    assert wrong == []  # precision 1.000
    assert made == correct
    assert correct / expected >= 0.99, f"recall {correct / expected:.4f}"


def test_the_index_finds_every_candidate_a_full_comparison_finds(cases: list[dict[str, Any]]) -> None:
    # The index only looks at the Persons its keys name; comparing every Person must find no other.
    missing = []
    for case in cases:
        index = PhoneIndex(case["company_country"])
        index.apply(persons(case))
        keyed = {c.person_id for c in index.candidates(case["chat"])}
        full = {
            c.person_id
            for c in candidates_from(case["chat"], persons(case), default_region=case["company_country"])
        }
        if keyed != full:
            missing.append(case["id"])
    assert missing == []
