//! The outline of a set of S2 cells (a credible region): the cells' edges that border a cell
//! outside the set, in world (Web Mercator) space, so a region of many cells reads as one
//! shape rather than a grid.

use s2::cell::Cell;
use s2::cellid::CellID;
use s2::latlng::LatLng;
use s2::point::Point;

use super::cell_polygon::slerp;
use super::geocells::containing_index;
use super::mercator::{WorldPoint, world_from_lat_lon};

/// Pieces an edge is cut into per degree of its length (at least [`MIN_PIECES`]): each piece
/// is tested on its own, since a big cell's edge may border several smaller cells, some in the
/// set and some not; and the pieces follow the great-circle edge's curve on the map.
const PIECES_PER_DEG: f64 = 4.0;
const MIN_PIECES: usize = 8;

/// How far past an edge (radians on the unit sphere, about 6 cm) a point is taken to lie in
/// the neighbouring cell.
const PROBE_RAD: f64 = 1e-8;

/// The boundary of the union of `cells` as world-space segments (cells may be of any levels;
/// they must not overlap). Tested on the sphere, on S2's exact great-circle edges; a piece
/// that would cross the antimeridian on the map is left out.
pub fn outline_segments(cells: &[CellID]) -> Vec<(WorldPoint, WorldPoint)> {
    let mut sorted = cells.to_vec();
    sorted.sort_by_key(|c| c.0);
    let in_set = |p: &Point| containing_index(&sorted, |c| *c, CellID::from(p)).is_some();
    let mut segments = Vec::new();
    for &cell_id in &sorted {
        let cell = Cell::from(cell_id);
        let vertices = cell.vertices();
        let centre = cell.center();
        for k in 0..4 {
            let (a, b) = (vertices[k], vertices[(k + 1) % 4]);
            let outward = outward_normal(&a, &b, &centre);
            let pieces = ((a.distance(&b).deg() * PIECES_PER_DEG).ceil() as usize).max(MIN_PIECES);
            for i in 0..pieces {
                let t0 = i as f64 / pieces as f64;
                let t1 = (i + 1) as f64 / pieces as f64;
                let mid = slerp(&a, &b, (t0 + t1) / 2.0);
                let probe = Point((mid.0 + outward * PROBE_RAD).normalize());
                if in_set(&probe) {
                    continue;
                }
                let (p, q) = (world_of(&slerp(&a, &b, t0)), world_of(&slerp(&a, &b, t1)));
                if (p.x - q.x).abs() < 0.5 {
                    segments.push((p, q));
                }
            }
        }
    }
    segments
}

/// The unit normal of the great circle through `a` and `b`, on the side away from `centre`.
fn outward_normal(a: &Point, b: &Point, centre: &Point) -> s2::r3::vector::Vector {
    let n = a.0.cross(&b.0).normalize();
    if n.dot(&centre.0) > 0.0 { n * -1.0 } else { n }
}

fn world_of(p: &Point) -> WorldPoint {
    let ll = LatLng::from(*p);
    world_from_lat_lon(ll.lat.deg(), ll.lng.deg())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(segments: &[(WorldPoint, WorldPoint)]) -> f64 {
        segments
            .iter()
            .map(|(a, b)| ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt())
            .sum()
    }

    #[test]
    fn a_region_is_outlined_as_one_shape_without_inner_edges() {
        let parent = CellID::from(LatLng::from_degrees(46.5, 8.0)).parent(6);
        let whole = length(&outline_segments(&[parent]));
        let children: Vec<CellID> = parent.children().to_vec();
        let of_children = length(&outline_segments(&children));
        // The four children's union is the parent: the same outline, no inner cross.
        assert!(
            (of_children - whole).abs() < 0.02 * whole,
            "{of_children} vs {whole}"
        );
        // Two children side by side: less than their two perimeters.
        let two = length(&outline_segments(&children[..2]));
        let apart = length(&outline_segments(&children[..1])) * 2.0;
        assert!(two < 0.9 * apart, "{two} vs {apart}");
        // Mixed levels: the parent's first child, and the other three split further.
        let mut mixed = vec![children[0]];
        for c in &children[1..] {
            mixed.extend(c.children());
        }
        let of_mixed = length(&outline_segments(&mixed));
        assert!(
            (of_mixed - whole).abs() < 0.02 * whole,
            "{of_mixed} vs {whole}"
        );
        assert!(outline_segments(&[]).is_empty());
    }
}
