#!/bin/sh
# Set up a virtual environment with flipdeck, load the bundled sample deck into your collection
# (under FLIPDECK_HOME, default ~/.local/share/flipdeck) and start studying it. Idempotent.
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/flipdeck sample --study
