#!/usr/bin/env bash
# Mutation testing of the modules where a silent bug costs most (docs/mutation.md), then the score.
#
# mutmut's configuration ([tool.mutmut] in pyproject.toml) names the files that get mutants and the tests
# that run against them. Every run starts from a fresh mutants/ copy of the tree, so the score is the one of
# the code and tests as they are now. The run uses one child process (MUTATE_CHILDREN to change it).
# Exits non-zero when a mutant survives that docs/mutation.md does not explain as equivalent.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bin="$VENV/bin"
children=${MUTATE_CHILDREN:-1}

# The mutants in scope, as mutmut names them (module.x_function__mutmut_N). Whole modules, except the
# panel context, where only the signed media links are in scope (its Pipedrive loading is not).
scope=(
    "server.whatsapp.waha_webhook.*"
    "server.whatsapp.cloud_webhook.*"
    "server.pipedrive.jwt.*"
    "server.web.security_headers.*"
    "server.web.session.*"
    "server.web.panel_context.x__media_key__mutmut_*"
    "server.web.panel_context.x_media_signature__mutmut_*"
    "server.web.panel_context.x_media_link__mutmut_*"
    "server.web.panel_context.x_media_link_valid__mutmut_*"
    "server.storage.outbox.*"
    "server.jobs.send.*"
    "server.services.deliver.*"
    "server.services.send.*"
    "server.services.sync.intents.*"
    "server.storage.sync_intents.*"
    "server.domain.phone_numbers.*"
    "server.domain.phone_compare.*"
    "server.domain.matching.*"
)

rm -rf mutants
mkdir mutants
started=$(date +%s)
echo "== mutmut run (${#scope[@]} scopes, $children child process; full output in mutants/mutmut-run.log)"
set +e
"$bin/mutmut" run --max-children "$children" "${scope[@]}" 2>&1 | tee mutants/mutmut-run.log | "$bin/python" -c '
# Pass the output through as it comes (progress is redrawn with carriage returns), up to the list of every
# mutant mutmut prints at the end: the summary below replaces it.
import os, sys
marker, out, tail = b"\nMutant results\n", sys.stdout.buffer, b""
while chunk := os.read(0, 65536):
    if tail is None:
        continue
    tail += chunk
    if (found := tail.find(marker)) >= 0:
        out.write(tail[: found + 1])
        tail = None
    else:
        out.write(tail[: -len(marker)])
        tail = tail[-len(marker) :]
    out.flush()
out.write(tail or b"")
'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
    echo "mutmut failed (exit $status); see mutants/mutmut-run.log" >&2
    exit "$status"
fi
elapsed=$(($(date +%s) - started))

VENV="$VENV" "$bin/python" - "$elapsed" "${scope[@]}" <<'PY'
"""Summarise mutants/**/*.meta for the mutants in scope, per module, against the equivalent mutants listed in
docs/mutation.md: table rows starting | `<mutant name>` | `<check>` |, where the check is a hash of the
mutant's change, so a listed name that now stands for another change (mutmut numbers mutants by position)
is not taken as equivalent any more."""

import fnmatch
import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

elapsed = int(sys.argv[1])
venv = os.environ["VENV"]
patterns = sys.argv[2:]
row = re.compile(r"^\|\s*`([^`]+__mutmut_\d+)`\s*\|\s*`([0-9a-f]{8})`\s*\|", re.M)
listed = dict(row.findall(Path("docs/mutation.md").read_text()))


def change(name: str, path: str) -> list[str]:
    """The removed and added lines of a mutant, without indentation."""
    diff = get_diff_for_mutant(name, path=path).splitlines()
    return [line[0] + line[1:].strip() for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def natural(name: str) -> tuple[str, int]:
    function, _, number = name.rpartition("__mutmut_")
    return function, int(number)


def check(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:8]


by_module: dict[str, Counter[str]] = defaultdict(Counter)
survivors: list[tuple[str, str, str]] = []
seen: set[str] = set()
for meta in sorted(Path("mutants").rglob("*.py.meta")):
    source = str(meta.relative_to("mutants"))[: -len(".meta")]
    exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
    for name, code in sorted(exit_codes.items(), key=lambda item: natural(item[0])):
        if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            continue
        seen.add(name)
        status = status_by_exit_code[code]
        counts = by_module[name.split(".x")[0]]
        counts["total"] += 1
        if status in ("killed", "timeout"):  # a mutant that hangs the tests is caught too
            counts[status] += 1
            if name in listed:
                print(f"note: {name} is listed as equivalent but the tests catch it; take it off the list")
        elif status == "not checked":
            counts["survived"] += 1
            survivors.append((name, status, source))
        elif name in listed and listed[name] == check(change(name, source)):
            counts["equivalent"] += 1
        else:  # survived, no tests, suspicious, segfault, or listed for another change
            if name in listed:
                status += ", listed for another change"
            counts["suspicious" if status == "suspicious" else "survived"] += 1
            survivors.append((name, status, source))

for name in sorted(set(listed) - seen):
    print(f"note: {name} is listed as equivalent in docs/mutation.md but there is no such mutant any more")

columns = ("killed", "timeout", "survived", "suspicious", "equivalent", "total")
width = max([len(m) for m in by_module] + [len("module")])
print()
print(f"{'module':<{width}}  " + "  ".join(f"{c:>10}" for c in columns))
grand: Counter[str] = Counter()
for module in sorted(by_module):
    grand.update(by_module[module])
    print(f"{module:<{width}}  " + "  ".join(f"{by_module[module][c]:>10}" for c in columns))
print(f"{'all':<{width}}  " + "  ".join(f"{grand[c]:>10}" for c in columns))
scored = grand["total"] - grand["equivalent"]
caught = grand["killed"] + grand["timeout"]
score = 100.0 * caught / scored if scored else 0.0
print()
print(
    f"score: {caught}/{scored} = {score:.2f}% caught (killed + timeout, of all mutants but the "
    f"{grand['equivalent']} equivalent ones); {elapsed // 60} min {elapsed % 60} s"
)
if not grand["total"]:
    print("no mutants in scope were found", file=sys.stderr)
    sys.exit(1)
unchecked = [name for name, status, _ in survivors if status == "not checked"]
if unchecked:
    print()
    print(f"{len(unchecked)} mutants were not run (was the run interrupted?): run make mutate again")
    sys.exit(1)
if survivors:
    print()
    print("Not caught and not listed as equivalent (docs/mutation.md says how to handle them):")
    for name, status, source in survivors:
        lines = change(name, source)
        print(f"  {name}  [{status}]  check {check(lines)}")
        for line in lines:
            print(f"      {line}")
    print(f"See one in context with: {venv}/bin/mutmut show <name>")
    sys.exit(1)
PY
