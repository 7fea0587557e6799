#!/bin/sh
# Set up a virtual environment with the test dependencies and run the whole suite:
# ruff, the import-linter contracts, then pytest (in parallel). Idempotent.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[server,test]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/lint-imports
.venv/bin/python -m pytest -n auto "$@"
