#!/usr/bin/env bash
# GeoCLIP 1.3.0's own code against geolens on the same photos, tower and thread count (see
# parity.py). Makes a venv with torch, transformers and geoclip from PyPI (a few GB); never
# needed by the app or CI.
#
#   tools/reference/parity.sh WORK_DIR PHOTOS_DIR [THREADS] [COUNT] [SEED]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$1 photos=$2 threads=${3:-2} count=${4:-71} seed=${5:-1}
venv="${GEOLENS_REF_VENV:-$root/tools/.venv-ref}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "torch==2.*" numpy pillow "transformers>=5,<6" safetensors "geoclip==1.3.0"
mkdir -p "$work"
[ -f "$work/tower/model.safetensors" ] || "$venv/bin/python" "$root/tools/reference/parity.py" write "$work" "$seed"
(cd "$root" && cargo build --release --example clip_embed)
mapfile -t chosen < <(find "$photos" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | LC_ALL=C sort | head -n "$count")
"$root/target/release/examples/clip_embed" "$work/tower" "${chosen[@]}" --threads "$threads" > "$work/geolens.jsonl"
"$venv/bin/python" "$root/tools/reference/parity.py" compare "$work" "$photos" "$threads" "$count" "$work/geolens.jsonl"
