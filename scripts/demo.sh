#!/usr/bin/env bash
# The main job on the embedded default data: `pgz-demo` trains the quick black box, surrogate, anchor and mobile
# preserver, exports them (ONNX, TFLite, Core ML; int8 and fp16), puts the SDK in front of the reference gaze service,
# audits the exported int8 model, benchmarks it and writes runs/demo/report/report.md. A second run reuses what is
# unchanged. Extra arguments go to pgz-demo (see `pgz-demo --help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
scripts/setup.sh
.venv/bin/pgz-demo "$@"
echo "demo: done in $(( $(date +%s) - start )) s, set-up included (the report's path is on the line above)"
