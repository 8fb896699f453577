#!/usr/bin/env bash
# PyTorch's CPU speed on a CLIP tower, for comparison with geolens's (see tower_speed.py).
# Makes a venv with CPU-capable torch and transformers from PyPI (a few GB); never needed by
# the app or CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/tools/.venv-ref"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "torch==2.*" numpy pillow "transformers>=5,<6" safetensors
"$venv/bin/python" "$root/tools/reference/tower_speed.py" "$@"
