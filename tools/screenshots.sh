#!/usr/bin/env bash
# Rebuilds the screenshots in docs/ under Xvfb (needs xvfb, xdotool and ImageMagick's
# `import`, and exiftool for the fourth). The app runs with empty user folders, so no CLIP
# tower is installed: the states shown are what a first run sees. Real predictions are not
# shown: they need the real ViT-L/14 weights, which the machines this project is built on
# cannot download; the fourth screenshot shows the answer layers over a stand-in tower (noise
# weights), captioned as such in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet --example stand_in_tower
bin=target/release/geolens
tmp=$(mktemp -d)
trap 'kill ${app:-} ${xvfb:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT
export XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config XDG_CACHE_HOME=$tmp/cache
export XDG_RUNTIME_DIR=$tmp/run HOME=$tmp
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset WAYLAND_DISPLAY
Xvfb :91 -screen 0 1400x850x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
export DISPLAY=:91
sleep 1
xdotool mousemove 1399 849

# 1. The first run: no model yet, a photo opened: the banner with the download, EXIF facts,
# the sample layer marked as such.
"$bin" --ephemeral --window-size 1400x850 --force --screenshot docs/explore-no-model.png \
  assets/deck/falcon9-dscovr-launch.jpg

# Starts the app with the arguments after OUT, runs the function `steps` against its window,
# saves the screen to OUT and closes the app.
drive() {
  local out=$1; shift
  "$bin" --ephemeral --window-size 1400x850 "$@" &
  app=$!
  sleep 5
  xdotool windowfocus --sync "$(xdotool search --sync --name '^geolens$' | head -n 1)"
  steps
  sleep 2
  import -window root "$out"
  kill $app
  wait $app 2>/dev/null || true
  app=
}

# 2. The offline map with its place names, zoomed in on Europe (banner put away with Escape).
steps() { xdotool key Escape; }
drive docs/map-names.png --center 46.5,8 --zoom 5.3

# 3. The game, human-only: a guess placed and the round revealed, framed in view.
steps() {
  xdotool key Return
  sleep 2
  xdotool mousemove 1050 330 click 1
  sleep 1
  xdotool mousemove 1399 849 key space
}
drive docs/game-round.png --game
# 4. The answer's layers (credible regions, the camera clock's zones) over a STAND-IN tower's
# answer: noise weights, so the places mean nothing; the layout and layers are what is shown.
target/release/examples/stand_in_tower "$tmp/stand-in" >/dev/null
exiftool -q -GPSLatitude=35.0114 -GPSLatitudeRef=N -GPSLongitude=135.7681 -GPSLongitudeRef=E \
  -DateTimeOriginal="2019:04:03 09:30:00" -OffsetTimeOriginal="+09:00" \
  -o "$tmp/kyoto-clock.jpg" assets/deck/falcon9-dscovr-launch.jpg
"$bin" --ephemeral --window-size 1400x850 --force --model-dir "$tmp/stand-in" --backend cpu \
  --level fine --screenshot docs/layers-stand-in.png "$tmp/kyoto-clock.jpg"

echo "wrote docs/explore-no-model.png docs/map-names.png docs/game-round.png docs/layers-stand-in.png"
