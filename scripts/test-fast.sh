#!/usr/bin/env bash
# The inner loop: the domain, the services (the sync engine against the Pipedrive sandbox) and the
# stores, on SQLite only: no browser, no PostgreSQL, no Redis. `make test` runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
# Compiled modules (and pytest's rewritten tests) are kept in __pycache__ even where the environment says
# not to: each test worker and each process a test starts then reads them instead of compiling again.
unset PYTHONDONTWRITEBYTECODE
# A worker per core, a file's tests on one worker (as `make test` runs them).
exec "$VENV/bin/pytest" -q -p no:cacheprovider -n auto --dist loadfile -k "not postgresql" \
    tests/domain tests/sync tests/storage "$@"
