//! S2 cells as fillable polygons on the Web Mercator map.
//!
//! An S2 cell's edges are great-circle arcs, so large cells are densified before projection;
//! rings that cross the antimeridian are cut into pieces on either side; the two face cells that
//! hold a pole are closed along the top (or bottom) edge of the Mercator square. Everything is
//! triangulated once into a [`CellMesh`] that the map redraws every frame without recomputing.

use s2::cell::Cell;
use s2::cellid::CellID;
use s2::latlng::LatLng;
use s2::point::Point;

use super::mercator::{MAX_MERCATOR_LAT_DEG, WorldPoint, world_from_lat_lon};

/// Longest great-circle step, in degrees, between densified points of a cell edge.
const MAX_EDGE_STEP_DEG: f64 = 1.0;

/// A ring in (lon_deg, lat_deg) plane coordinates; longitudes may run past +-180 while unwrapped.
type LonLatRing = Vec<[f64; 2]>;

/// The outline of `cell` as rings in world space, each inside the Mercator square, each closed
/// implicitly (the last point joins the first). Most cells give one ring; a cell crossing the
/// antimeridian gives two.
pub fn cell_world_rings(cell: CellID) -> Vec<Vec<WorldPoint>> {
    lon_lat_pieces(cell)
        .into_iter()
        .map(|ring| {
            ring.into_iter()
                .map(|[lon_deg, lat_deg]| world_from_lat_lon(lat_deg, lon_deg))
                .collect()
        })
        .collect()
}

/// The corners of the cell named by an S2 `token`, as (lat_deg, lon_deg); `None` for a token
/// that names no valid cell.
pub fn cell_corners_deg(token: &str) -> Option<[(f64, f64); 4]> {
    let cell = CellID::from_token(token);
    if !cell.is_valid() {
        return None;
    }
    Some(Cell::from(cell).vertices().map(|v| {
        let ll = LatLng::from(v);
        (ll.lat.deg(), ll.lng.deg())
    }))
}

/// The cell's boundary, densified along its great-circle edges, as (lon_deg, lat_deg) with
/// longitudes unwrapped so that consecutive points never jump by more than 180 degrees.
fn densified_unwrapped_ring(cell: CellID) -> LonLatRing {
    let vertices = Cell::from(cell).vertices();
    let mut ring: LonLatRing = Vec::new();
    let mut prev_lon_deg: Option<f64> = None;
    for k in 0..4 {
        let a = vertices[k];
        let b = vertices[(k + 1) % 4];
        let edge_deg = a.distance(&b).deg();
        let steps = (edge_deg / MAX_EDGE_STEP_DEG).ceil().max(1.0) as usize;
        for s in 0..steps {
            let p = slerp(&a, &b, s as f64 / steps as f64);
            let ll = LatLng::from(p);
            let (lat_deg, mut lon_deg) = (ll.lat.deg(), ll.lng.deg());
            if let Some(prev) = prev_lon_deg {
                // A point at a pole has no meaningful longitude: keep the previous one.
                if lat_deg.abs() > 90.0 - 1e-9 {
                    lon_deg = prev;
                }
                while lon_deg - prev > 180.0 {
                    lon_deg -= 360.0;
                }
                while lon_deg - prev < -180.0 {
                    lon_deg += 360.0;
                }
            }
            prev_lon_deg = Some(lon_deg);
            ring.push([lon_deg, lat_deg]);
        }
    }
    ring
}

/// Spherical linear interpolation between two unit vectors.
pub(super) fn slerp(a: &Point, b: &Point, t: f64) -> Point {
    let (a, b) = (&a.0, &b.0);
    let dot = (a.x * b.x + a.y * b.y + a.z * b.z).clamp(-1.0, 1.0);
    let omega = dot.acos();
    let (wa, wb) = if omega < 1e-12 {
        (1.0 - t, t)
    } else {
        let s = omega.sin();
        (((1.0 - t) * omega).sin() / s, (t * omega).sin() / s)
    };
    Point::from_coords(
        wa * a.x + wb * b.x,
        wa * a.y + wb * b.y,
        wa * a.z + wb * b.z,
    )
}

/// The cell as planar (lon, lat) pieces, each inside [-180, 180] x [-85.05, 85.05].
fn lon_lat_pieces(cell: CellID) -> Vec<LonLatRing> {
    let mut ring = densified_unwrapped_ring(cell);
    let Some(&[first_lon, _]) = ring.first() else {
        return Vec::new();
    };
    let Some(&[last_lon, _]) = ring.last() else {
        return Vec::new();
    };
    // The closing step back to the first point, unwrapped like the others.
    let mut closing_lon = first_lon;
    while closing_lon - last_lon > 180.0 {
        closing_lon -= 360.0;
    }
    while closing_lon - last_lon < -180.0 {
        closing_lon += 360.0;
    }
    let winding_deg = closing_lon - first_lon;
    if winding_deg.abs() > 180.0 {
        // The ring winds once around the globe: it encloses a pole. Close it along that pole's
        // parallel so the planar polygon covers the cap.
        let cell_shape = Cell::from(cell);
        let north = cell_shape.contains_point(&Point::from(LatLng::from_degrees(90.0, 0.0)));
        let pole_lat_deg = if north { 90.0 } else { -90.0 };
        let first_lat = ring[0][1];
        ring.push([closing_lon, first_lat]);
        ring.push([closing_lon, pole_lat_deg]);
        ring.push([first_lon, pole_lat_deg]);
    }

    let (min_lon, max_lon) = ring.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p[0]), hi.max(p[0]))
    });
    let mut pieces = Vec::new();
    for shift_deg in [-720.0, -360.0, 0.0, 360.0, 720.0] {
        if max_lon + shift_deg <= -180.0 || min_lon + shift_deg >= 180.0 {
            continue;
        }
        let shifted: LonLatRing = ring.iter().map(|p| [p[0] + shift_deg, p[1]]).collect();
        let clipped = clip_to_rect(
            shifted,
            [-180.0, -MAX_MERCATOR_LAT_DEG],
            [180.0, MAX_MERCATOR_LAT_DEG],
        );
        if clipped.len() >= 3 && ring_area(&clipped).abs() > 1e-12 {
            pieces.push(clipped);
        }
    }
    pieces
}

/// Sutherland-Hodgman clipping of a ring against an axis-aligned rectangle.
fn clip_to_rect(ring: LonLatRing, min: [f64; 2], max: [f64; 2]) -> LonLatRing {
    let mut out = ring;
    for axis in 0..2 {
        out = clip_half_plane(&out, axis, min[axis], true);
        out = clip_half_plane(&out, axis, max[axis], false);
    }
    out
}

fn clip_half_plane(ring: &[[f64; 2]], axis: usize, bound: f64, keep_above: bool) -> LonLatRing {
    let inside = |p: &[f64; 2]| {
        if keep_above {
            p[axis] >= bound
        } else {
            p[axis] <= bound
        }
    };
    let mut out = Vec::with_capacity(ring.len() + 4);
    for (i, cur) in ring.iter().enumerate() {
        let prev = &ring[(i + ring.len() - 1) % ring.len()];
        let (cur_in, prev_in) = (inside(cur), inside(prev));
        if cur_in != prev_in {
            let t = (bound - prev[axis]) / (cur[axis] - prev[axis]);
            let mut p = [
                prev[0] + t * (cur[0] - prev[0]),
                prev[1] + t * (cur[1] - prev[1]),
            ];
            p[axis] = bound;
            out.push(p);
        }
        if cur_in {
            out.push(*cur);
        }
    }
    out
}

/// Signed shoelace area of a planar ring.
fn ring_area(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

/// One filled ring of one cell inside a [`CellMesh`].
#[derive(Debug, Clone)]
pub struct MeshPiece {
    /// Index of the cell in the list given to [`CellMesh::build`].
    pub cell_index: usize,
    pub vertex_range: std::ops::Range<u32>,
    pub index_range: std::ops::Range<u32>,
    pub world_min: WorldPoint,
    pub world_max: WorldPoint,
}

/// Triangles of many cells in world space, built once and reused every frame.
#[derive(Debug, Clone, Default)]
pub struct CellMesh {
    pub world_vertices: Vec<WorldPoint>,
    /// Triangle list; indices point into `world_vertices`.
    pub indices: Vec<u32>,
    pub pieces: Vec<MeshPiece>,
}

impl CellMesh {
    pub fn build(cells: &[CellID]) -> Self {
        let mut mesh = CellMesh::default();
        for (cell_index, &cell) in cells.iter().enumerate() {
            for ring in cell_world_rings(cell) {
                mesh.push_ring(cell_index, &ring);
            }
        }
        mesh
    }

    fn push_ring(&mut self, cell_index: usize, ring: &[WorldPoint]) {
        let flat: Vec<f64> = ring.iter().flat_map(|p| [p.x, p.y]).collect();
        let Ok(triangles) = earcutr::earcut(&flat, &[], 2) else {
            return;
        };
        if triangles.is_empty() {
            return;
        }
        let base = self.world_vertices.len() as u32;
        let first_index = self.indices.len() as u32;
        let mut world_min = WorldPoint {
            x: f64::MAX,
            y: f64::MAX,
        };
        let mut world_max = WorldPoint {
            x: f64::MIN,
            y: f64::MIN,
        };
        for p in ring {
            world_min = WorldPoint {
                x: world_min.x.min(p.x),
                y: world_min.y.min(p.y),
            };
            world_max = WorldPoint {
                x: world_max.x.max(p.x),
                y: world_max.y.max(p.y),
            };
        }
        self.world_vertices.extend_from_slice(ring);
        self.indices
            .extend(triangles.into_iter().map(|i| base + i as u32));
        self.pieces.push(MeshPiece {
            cell_index,
            vertex_range: base..self.world_vertices.len() as u32,
            index_range: first_index..self.indices.len() as u32,
            world_min,
            world_max,
        });
    }

    /// Total filled world-space area of the pieces of one cell (for tests and sanity checks).
    pub fn cell_world_area(&self, cell_index: usize) -> f64 {
        self.pieces
            .iter()
            .filter(|p| p.cell_index == cell_index)
            .map(|p| {
                self.indices[p.index_range.start as usize..p.index_range.end as usize]
                    .chunks_exact(3)
                    .map(|t| {
                        let (a, b, c) = (
                            self.world_vertices[t[0] as usize],
                            self.world_vertices[t[1] as usize],
                            self.world_vertices[t[2] as usize],
                        );
                        ((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)).abs() / 2.0
                    })
                    .sum::<f64>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::mercator::lat_lon_from_world;

    #[test]
    fn a_token_gives_the_corners_around_its_cell() {
        let cell = CellID::from(LatLng::from_degrees(48.8566, 2.3522)).parent(8);
        let corners = cell_corners_deg(&cell.to_token()).expect("valid token");
        let (lat_lo, lat_hi) = corners.iter().fold((90.0f64, -90.0f64), |(lo, hi), c| {
            (lo.min(c.0), hi.max(c.0))
        });
        assert!(lat_lo < 48.8566 && 48.8566 < lat_hi, "{corners:?}");
        assert!(corners.iter().all(|c| (c.1 - 2.35).abs() < 1.0));
        assert!(cell_corners_deg("not a token").is_none());
    }

    fn in_square(p: &WorldPoint) -> bool {
        (-1e-9..=1.0 + 1e-9).contains(&p.x) && (-1e-9..=1.0 + 1e-9).contains(&p.y)
    }

    /// Whether a point is inside a ring (even-odd rule).
    fn ring_contains(ring: &[WorldPoint], p: WorldPoint) -> bool {
        let mut inside = false;
        for i in 0..ring.len() {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x) {
                inside = !inside;
            }
        }
        inside
    }

    #[test]
    fn every_face_cell_is_a_closed_polygon_inside_the_map() {
        let faces: Vec<CellID> = (0..6).map(CellID::from_face).collect();
        let mesh = CellMesh::build(&faces);
        let mut total_area = 0.0;
        for (face, &cell) in faces.iter().enumerate() {
            let rings = cell_world_rings(cell);
            assert!(!rings.is_empty(), "face {face} drew nothing");
            for ring in &rings {
                assert!(
                    ring.len() >= 4,
                    "face {face}: ring of {} points",
                    ring.len()
                );
                assert!(ring.iter().all(in_square), "face {face} leaves the map");
                // Closed: consecutive points (the last back to the first included) are close,
                // so the outline has no spikes across the map.
                // Long edges are allowed only along the top or bottom of the map (a polar cap).
                for i in 0..ring.len() {
                    let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
                    let on_edge = |y: f64| y.abs() < 1e-9 || (y - 1.0).abs() < 1e-9;
                    let along_border = on_edge(a.y) && on_edge(b.y) && (a.y - b.y).abs() < 1e-9;
                    assert!(
                        (a.x - b.x).abs() < 0.1 || along_border,
                        "face {face} jumps across the map"
                    );
                }
            }
            // The face's centre point is inside its own outline (the polar faces' centres are
            // the poles, off the Mercator map; the polar test covers them).
            if face != 2 && face != 5 {
                let centre = LatLng::from(Cell::from(cell).center());
                let c = world_from_lat_lon(centre.lat.deg(), centre.lng.deg());
                assert!(rings.iter().any(|r| ring_contains(r, c)), "face {face}");
            }
            let area = mesh.cell_world_area(face);
            assert!(area > 0.02, "face {face} covers only {area}");
            total_area += area;
        }
        // The six faces tile the whole Mercator square, without gaps or overlaps.
        assert!((total_area - 1.0).abs() < 1e-6, "faces cover {total_area}");
    }

    #[test]
    fn polar_faces_reach_the_top_and_bottom_edges() {
        // Face 2 holds the north pole, face 5 the south pole.
        for (face, edge_y) in [(2, 0.0), (5, 1.0)] {
            let rings = cell_world_rings(CellID::from_face(face));
            let touches = rings
                .iter()
                .flatten()
                .filter(|p| (p.y - edge_y).abs() < 1e-9)
                .count();
            assert!(touches >= 2, "face {face} does not close along its pole");
            let near_pole = world_from_lat_lon(if face == 2 { 80.0 } else { -80.0 }, 10.0);
            assert!(rings.iter().any(|r| ring_contains(r, near_pole)));
        }
    }

    #[test]
    fn a_cell_across_the_antimeridian_draws_as_two_pieces() {
        // S2 face 3 is centred on the antimeridian. Every finer cell has an edge exactly on
        // lon 180 (the face's u = 0 line), so face 3 is the one cell that straddles it.
        let cell = CellID::from_face(3);
        let rings = cell_world_rings(cell);
        assert_eq!(rings.len(), 2, "{rings:?}");
        let (west, east): (Vec<_>, Vec<_>) = rings.iter().partition(|r| r[0].x < 0.5);
        assert_eq!((west.len(), east.len()), (1, 1));
        assert!(west[0].iter().any(|p| p.x.abs() < 1e-12));
        assert!(east[0].iter().any(|p| (p.x - 1.0).abs() < 1e-12));
        // No piece spans the map: each holds a quarter turn of longitude.
        for ring in &rings {
            let (lo, hi) = ring.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
                (lo.min(p.x), hi.max(p.x))
            });
            assert!(hi - lo < 0.13, "{lo}..{hi}");
        }
        // Its children each lie on one side, touching the antimeridian with an edge.
        for child in cell.children() {
            let rings = cell_world_rings(child);
            assert_eq!(rings.len(), 1);
            assert!(
                rings[0]
                    .iter()
                    .any(|p| p.x.abs() < 1e-12 || (p.x - 1.0).abs() < 1e-12)
            );
        }
        // A cell well away from the antimeridian stays whole.
        let kyoto = CellID::from(LatLng::from_degrees(35.0116, 135.7681)).parent(8);
        assert_eq!(cell_world_rings(kyoto).len(), 1);
    }

    #[test]
    fn small_cells_keep_their_corners() {
        let cell = CellID::from(LatLng::from_degrees(48.8566, 2.3522)).parent(12);
        let rings = cell_world_rings(cell);
        assert_eq!(rings.len(), 1);
        for v in Cell::from(cell).vertices() {
            let ll = LatLng::from(v);
            let w = world_from_lat_lon(ll.lat.deg(), ll.lng.deg());
            assert!(
                rings[0]
                    .iter()
                    .any(|p| (p.x - w.x).abs() < 1e-12 && (p.y - w.y).abs() < 1e-12)
            );
        }
        let (lat, lon) = lat_lon_from_world(rings[0][0]);
        assert!((lat - 48.85).abs() < 0.1 && (lon - 2.35).abs() < 0.1);
    }
}
