#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages geolens needs when they are missing.
#   tools/system-deps.sh run    libraries to open a window (X11/Wayland, Vulkan or GL)
#   tools/system-deps.sh test   the above plus Xvfb for the headless GUI test,
#                               desktop-file-validate for the package test and exiftool
#                               (an independent reader of the XMP sidecars geolens writes)
set -euo pipefail
what=${1:-run}
pkgs=(libxkbcommon0 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libx11-xcb1
      libvulkan1 mesa-vulkan-drivers libegl1 libegl-mesa0 libgl1 libglx-mesa0 libgl1-mesa-dri)
if [ "$what" = test ]; then pkgs+=(xvfb xauth desktop-file-utils libimage-exiftool-perl); fi
command -v dpkg-query >/dev/null || { echo "system-deps: not a Debian/Ubuntu system; install the equivalents of: ${pkgs[*]}" >&2; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "system-deps: please install: ${missing[*]}" >&2; exit 1; fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
