#!/usr/bin/env bash
# Every check `make test` runs, in order: lint, types, dependency direction, then the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bin="$VENV/bin"

echo "== ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .
echo "== mypy (strict: server, panels, sandbox)"
"$bin/mypy"
echo "== import-linter"
"$bin/lint-imports"
echo "== pytest"
# In parallel, one worker per core (each with its own Redis database, PostgreSQL databases and ports),
# a file's tests on one worker in their order (a browser module shares its demo between its tests); the
# 25 slowest tests are listed at the end, so slowness stays visible. pytest exits 5 when it collects
# no test; that fails this script like any other failure.
"$bin/pytest" -n auto --dist loadfile --durations=25 "$@"
