#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv inside the checkout and install privategaze into it, editable,
# with every extra, at the versions pinned for this machine kind. Re-running is cheap: pip runs only when
# pyproject.toml, setup.py or the lock file changed since the last successful install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python=${PYTHON:-python3.11}
lock=constraints/linux-x86_64-py311.txt
stamp=.venv/.privategaze-install-stamp

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version 2>&1)"
  "$python" -m venv .venv
fi
want=$(cat pyproject.toml setup.py "$lock" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing privategaze[all,dev] into .venv (first time: about 4 minutes, ~7 GB)"
  # One pip run for everything: the export stack's pins only resolve together (see constraints file).
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c "$lock" -e '.[all,dev]' 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" > "$stamp"
else
  echo "setup: .venv is up to date"
fi
