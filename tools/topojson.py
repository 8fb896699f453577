"""TopoJSON helpers shared by the build tools (standard library only)."""


def decode_arcs(topo):
    """TopoJSON arcs -> list of [(lon_deg, lat_deg), ...] (quantised and delta-coded input)."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs
