"""Matching benchmark: the labelled corpus (bench/data/matching_corpus.json, written by
scripts/gen_matching_corpus.py) through the company's phone index, as the sync engine asks it.

Prints JSON: precision (correct links / all links made), recall (correct links / links that should be
made), the counts behind them per group of cases, the rules that made the links, and every failure (a
wrong Person, a link where none should be made, or a missed one). Targets: precision 1.000, recall ≥ 0.99.

    .venv/bin/python -m bench.matching_bench
    .venv/bin/python -m bench.matching_bench --corpus other.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from server.domain.matching import MatchResult, PersonPhones, PhoneIndex

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "data" / "matching_corpus.json"
TARGET_PRECISION = 1.0
TARGET_RECALL = 0.99


@dataclass
class Tally:
    cases: int = 0
    expected: int = 0  # links that should be made
    made: int = 0  # links made
    correct: int = 0  # links made to the expected Person

    def add(self, expected: int | None, found: int | None) -> None:
        self.cases += 1
        self.expected += expected is not None
        self.made += found is not None
        self.correct += found is not None and found == expected

    @property
    def precision(self) -> float:
        return self.correct / self.made if self.made else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "links_expected": self.expected,
            "links_made": self.made,
            "correct_links": self.correct,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


@dataclass
class Report:
    total: Tally = field(default_factory=Tally)
    groups: dict[str, Tally] = field(default_factory=dict)
    rules: Counter[str] = field(default_factory=Counter)
    countries: set[str] = field(default_factory=set)
    failures: list[dict[str, Any]] = field(default_factory=list)


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return cases


def persons_of(case: dict[str, Any]) -> list[PersonPhones]:
    return [
        PersonPhones(person["id"], tuple(person["phones"]), datetime.fromisoformat(person["updated"]))
        for person in case["persons"]
    ]


def match_case(case: dict[str, Any]) -> MatchResult | None:
    """The company's index holding the case's Persons, asked for the chat's number."""
    index = PhoneIndex(case["company_country"])
    index.apply(persons_of(case))
    return index.match(case["chat"])


def evaluate(cases: list[dict[str, Any]]) -> Report:
    report = Report()
    for case in cases:
        result = match_case(case)
        found = result.person_id if result is not None else None
        expected = case["expected"]
        report.total.add(expected, found)
        report.groups.setdefault(case["group"], Tally()).add(expected, found)
        report.countries.add(case["id"].split("-")[0])
        if result is not None:
            report.rules[result.rule.value] += 1
        if found != expected:
            report.failures.append(failure(case, result))
    return report


def failure(case: dict[str, Any], result: MatchResult | None) -> dict[str, Any]:
    expected = case["expected"]
    if result is None:
        kind = "missed"
    elif expected is None:
        kind = "linked_none_expected"
    else:
        kind = "wrong_person"
    phones = {person["id"]: person["phones"] for person in case["persons"]}
    return {
        "id": case["id"],
        "kind": kind,
        "chat": case["chat"],
        "company_country": case["company_country"],
        "expected": {"person": expected, "phones": phones.get(expected)} if expected is not None else None,
        "found": (
            {"person": result.person_id, "rule": result.rule.value, "phone": result.phone}
            if result is not None
            else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    cases = load(args.corpus)
    started = time.perf_counter()
    report = evaluate(cases)
    elapsed = time.perf_counter() - started
    total = report.total
    corpus = args.corpus.resolve()
    output = {
        "corpus": str(corpus.relative_to(ROOT) if corpus.is_relative_to(ROOT) else corpus),
        "countries": len(report.countries),
        **total.as_json(),
        "wrong_links": total.made - total.correct,
        "missed_links": total.expected - total.correct,
        "targets": {"precision": TARGET_PRECISION, "recall": TARGET_RECALL},
        "met": total.precision >= TARGET_PRECISION and total.recall >= TARGET_RECALL,
        "by_group": {name: tally.as_json() for name, tally in sorted(report.groups.items())},
        "rules": dict(sorted(report.rules.items())),
        "ms_per_case": round(1000 * elapsed / max(len(cases), 1), 3),
        "failures": report.failures,
    }
    print(json.dumps(output, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
