#!/usr/bin/env bash
# Runs the geolens app (first run builds it in release mode: ~15 min on 2 cores).
# Extra arguments go to geolens, e.g. `tools/run.sh --level fine` or `tools/run.sh cells stats`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/system-deps.sh run
exec cargo run --release --quiet -- "$@"
