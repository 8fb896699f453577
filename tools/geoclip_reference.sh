#!/usr/bin/env bash
# Regenerates tests/fixtures/geoclip_reference.json with the reference GeoCLIP on CPU torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python3 -m venv "$root/tools/.venv-ref"
"$root/tools/.venv-ref/bin/pip" install -q "torch==2.*" numpy pandas pillow geopy tqdm
"$root/tools/.venv-ref/bin/pip" install -q --no-deps geoclip==1.3.0
mkdir -p "$root/tests/fixtures"
"$root/tools/.venv-ref/bin/python" "$root/tools/geoclip_reference.py" "$root/tests/fixtures/geoclip_reference.json"
