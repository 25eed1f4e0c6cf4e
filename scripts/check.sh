#!/usr/bin/env bash
# Every check `make test` runs: lint, types, dependency direction and the tests. The type and dependency
# checks run beside the tests (the tests leave a core idle much of the time); their output is printed
# after the tests, and any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
bin="$VENV/bin"

# Compiled modules (and pytest's rewritten tests) are kept in __pycache__ even where the environment says
# not to: each test worker and each process a test starts then reads them instead of compiling again.
unset PYTHONDONTWRITEBYTECODE
echo "== ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .

static=$(mktemp)
trap 'rm -f "$static"' EXIT
(
    echo "== mypy (strict: server, panels, sandbox, bench)"
    "$bin/mypy" && echo "== import-linter" && "$bin/lint-imports"
) >"$static" 2>&1 &
static_pid=$!

echo "== pytest"
# In parallel, one worker per core (each with its own Redis database, PostgreSQL databases and ports),
# a file's tests on one worker in their order (a browser module shares its demo between its tests); the
# 25 slowest tests are listed at the end, so slowness stays visible. pytest exits 5 when it collects
# no test; that fails this script like any other failure.
tests=0
"$bin/pytest" -n auto --dist loadfile --durations=25 "$@" || tests=$?

checks=0
wait "$static_pid" || checks=$?
cat "$static"
if [ "$checks" -ne 0 ]; then
    echo "mypy or import-linter failed (exit $checks): see above" >&2
fi
if [ "$tests" -ne 0 ] || [ "$checks" -ne 0 ]; then
    exit 1
fi
