"""The README is a front door: short, and every relative link in it and in the docs leads somewhere.

A link to another file must name a file or folder that exists; a link with an anchor (``page.md#heading``
or ``#heading``) must name a heading of that page, spelled as GitHub spells its anchors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def documents() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "manifest" / "README.md"]
    return pages + sorted((ROOT / "docs").glob("*.md"))


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(page.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    """Every relative link of ``page`` that leads nowhere, with the reason."""
    problems = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: and the like
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{target}: no heading with the anchor #{anchor}")
    return problems


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    assert broken_links(page) == []


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Two words\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[fine](other.md#two-words) [gone](missing.md) [no heading](other.md#three-words)\n"
        "[here](#page) [not here](#elsewhere) `[in code](missing-too.md)` [web](https://example.com/x)\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#three-words: no heading with the anchor #three-words",
        "#elsewhere: no heading with the anchor #elsewhere",
    ]


def test_anchors_are_spelled_as_github_spells_them() -> None:
    assert slug("Edits, deletions and reactions") == "edits-deletions-and-reactions"
    assert slug("Registering WaPipe in Pipedrive") == "registering-wapipe-in-pipedrive"
    assert slug("The `wapipe` command") == "the-wapipe-command"
    assert slug("From a WhatsApp message to a Pipedrive activity") == (
        "from-a-whatsapp-message-to-a-pipedrive-activity"
    )


def test_the_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    first_block = readme[readme.index("```") : readme.index("```", readme.index("```") + 3)]
    assert "make demo" in first_block
    assert "make test" in first_block


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in LINK.findall(prose((ROOT / "README.md").read_text(encoding="utf-8")))
    }
    pages = {page.resolve() for page in (ROOT / "docs").glob("*.md")}
    assert sorted(str(page.relative_to(ROOT)) for page in pages - linked) == []
