#!/usr/bin/env bash
# Regenerates the CLIP tower and preprocessing fixtures (tests/fixtures/clip_tiny,
# tests/fixtures/photos/*.clip224.png, preprocess.json) with transformers on CPU torch.
# Never needed by the app or CI: the fixtures are committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python3 -m venv "$root/tools/.venv-ref"
"$root/tools/.venv-ref/bin/pip" install -q "torch==2.*" numpy pillow "transformers>=5,<6" safetensors
"$root/tools/.venv-ref/bin/python" "$root/tools/clip_reference.py" "$root"
