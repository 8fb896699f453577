#!/usr/bin/env bash
# Rebuilds models/geocells/{coarse,middle,fine}.csv from the 100k photo coordinates shipped in
# the Python package geoclip 1.3.0 (MIT). Needs pip (to download the wheel) and cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/tools/.cache/geoclip"
mkdir -p "$work"
python3 -m pip download -q --no-deps geoclip==1.3.0 -d "$work"
(cd "$work" && python3 -m zipfile -e geoclip-1.3.0-py3-none-any.whl wheel)
coords="$work/wheel/geoclip/model/gps_gallery/coordinates_100K.csv"
cd "$root"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/release/geolens"
# Thresholds must match Granularity::params in src/geo/geocells.rs.
"$bin" cells build --input "$coords" --t-min 20 --t-max 1000 --out models/geocells/coarse.csv --force
"$bin" cells build --input "$coords" --t-min 10 --t-max 250 --out models/geocells/middle.csv --force
"$bin" cells build --input "$coords" --t-min 5 --t-max 60 --out models/geocells/fine.csv --force
