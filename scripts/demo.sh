#!/usr/bin/env bash
# The main job on the embedded default data. Today: the synthetic dataset's contact sheet, its rendering throughput
# and its learnability probe (identity, gender, gaze). Grows into `pgz-demo` (train, export, serve, audit,
# benchmark) as the pipeline lands. Outputs go to runs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
start=$(date +%s)
.venv/bin/pgz-data sheet --out runs/data/contact_sheet.png
.venv/bin/pgz-data sheet --natural --domain public --out runs/data/contact_sheet_public.png
.venv/bin/pgz-data throughput --out runs/data/throughput.json
.venv/bin/pgz-data probe --out runs/data/learnability.json
echo "demo: done in $(( $(date +%s) - start )) s; contact sheets, throughput and learnability report are in runs/data/"
