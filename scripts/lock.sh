#!/usr/bin/env bash
# Resolves the newest versions allowed by pyproject.toml in a scratch venv and pins them in constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet --disable-pip-version-check '.[dev]'
{
  echo "# Pinned versions for reproducible installs; regenerate with 'make lock'."
  "$scratch/venv/bin/python" -m pip freeze --exclude wapipe | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt updated"
