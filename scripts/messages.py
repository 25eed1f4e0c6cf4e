"""`make messages`: extract every translatable word of WaPipe into locale/messages.pot (templates' ``_()`` and
``{% trans %}``, Python's ``Text()`` and ``ntext()``), then list, per language, what its catalogues
(locale/<language>/LC_MESSAGES/*.po) do not translate yet and what they translate that no longer exists."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "Text": (1,), "ntext": (1, 2), "ptext": ((1, "c"), 2)}


def extract() -> Catalog:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog(project="WaPipe", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def main() -> int:
    template = extract()
    with (ROOT / "locale" / "messages.pot").open("wb") as out:
        write_po(out, template, omit_header=True, width=110)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    print(f"{len(wanted)} messages in locale/messages.pot")
    missing_any = False
    for folder in sorted(p for p in (ROOT / "locale").iterdir() if p.is_dir()):
        have: set[str] = set()
        for po in sorted((folder / "LC_MESSAGES").glob("*.po")):
            with po.open("rb") as source:
                for message in read_po(source):
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    if key and all(strings) and not message.fuzzy:
                        have.add(key)
        missing, unused = sorted(wanted - have), sorted(have - wanted)
        missing_any = missing_any or bool(missing)
        print(f"{folder.name}: {len(missing)} untranslated, {len(unused)} no longer used")
        for key in missing:
            print(f"  missing: {key!r}")
        for key in unused:
            print(f"  unused: {key!r}")
    return 1 if missing_any else 0


if __name__ == "__main__":
    sys.exit(main())
