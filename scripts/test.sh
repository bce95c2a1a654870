#!/usr/bin/env bash
# The test command: set up .venv if needed, lint and format-check with ruff, then run the whole pytest suite.
# Extra arguments go to pytest (for example: scripts/test.sh -k geometry).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
