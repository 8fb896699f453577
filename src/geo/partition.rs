//! PlaNet's adaptive S2 partition: start from the six face cells, split every cell that holds
//! more than `t_max` photos, then drop the cells that hold fewer than `t_min`.

use std::io::BufRead;

use s2::cellid::CellID;
use s2::latlng::LatLng;

use super::GeoError;

pub use super::latlon::LatLonDeg;

/// Thresholds of the adaptive partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionParams {
    /// Cells with fewer photos than this are dropped.
    pub t_min: u32,
    /// Cells with more photos than this are split (unless already at `max_cell_level`).
    pub t_max: u32,
    /// Deepest S2 level a cell may be split to.
    pub max_cell_level: u8,
}

/// One kept cell with the photos inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionCell {
    pub cell: CellID,
    pub photo_count: u32,
    /// Spherical mean of the photos' positions.
    pub mean: LatLonDeg,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Kept cells in S2 id order (so they never overlap and can be binary-searched).
    pub cells: Vec<PartitionCell>,
    pub total_points: usize,
    /// Points that fell into dropped cells.
    pub dropped_points: usize,
}

impl Partition {
    /// Share of the input points inside kept cells.
    pub fn coverage(&self) -> f64 {
        if self.total_points == 0 {
            return 0.0;
        }
        1.0 - self.dropped_points as f64 / self.total_points as f64
    }
}

/// Leaf S2 cell of a point.
pub fn leaf_cell(p: LatLonDeg) -> CellID {
    CellID::from(LatLng::from_degrees(p.lat_deg, p.lon_deg))
}

/// Builds the partition. Deterministic: the same points in any order give the same cells.
pub fn build_partition(
    points: &[LatLonDeg],
    params: PartitionParams,
) -> Result<Partition, GeoError> {
    if points.is_empty() {
        return Err(GeoError::NoPoints);
    }
    if params.t_min > params.t_max || params.t_max == 0 {
        return Err(GeoError::BadThresholds {
            t_min: params.t_min,
            t_max: params.t_max,
        });
    }
    let max_level = u64::from(params.max_cell_level.min(30));
    let mut leaves: Vec<(u64, LatLonDeg)> = points.iter().map(|p| (leaf_cell(*p).0, *p)).collect();
    leaves.sort_by_key(|(id, _)| *id);
    let ids: Vec<u64> = leaves.iter().map(|(id, _)| *id).collect();

    let mut cells = Vec::new();
    let mut dropped_points = 0;
    // Depth-first in S2 id order, so `cells` comes out sorted.
    let mut stack: Vec<CellID> = (0..6u64).rev().map(CellID::from_face).collect();
    while let Some(cell) = stack.pop() {
        let lo = ids.partition_point(|&id| id < cell.range_min().0);
        let hi = ids.partition_point(|&id| id <= cell.range_max().0);
        let count = hi - lo;
        if count == 0 {
            continue;
        }
        if count > params.t_max as usize && cell.level() < max_level {
            stack.extend(cell.children().iter().rev());
            continue;
        }
        if count < params.t_min as usize {
            dropped_points += count;
            continue;
        }
        cells.push(PartitionCell {
            cell,
            photo_count: count as u32,
            mean: spherical_mean(leaves[lo..hi].iter().map(|(_, p)| *p)),
        });
    }
    Ok(Partition {
        cells,
        total_points: points.len(),
        dropped_points,
    })
}

fn spherical_mean(points: impl Iterator<Item = LatLonDeg>) -> LatLonDeg {
    let (mut x, mut y, mut z) = (0.0, 0.0, 0.0);
    for p in points {
        let (lat, lon) = (p.lat_deg.to_radians(), p.lon_deg.to_radians());
        x += lat.cos() * lon.cos();
        y += lat.cos() * lon.sin();
        z += lat.sin();
    }
    LatLonDeg {
        lat_deg: z.atan2((x * x + y * y).sqrt()).to_degrees(),
        lon_deg: y.atan2(x).to_degrees(),
    }
}

/// Reads `lat,lon` rows (an optional header first, e.g. GeoCLIP's `LAT,LON`). Errors name the
/// 1-based row.
pub fn read_points_csv(reader: impl BufRead) -> Result<Vec<LatLonDeg>, GeoError> {
    let mut points = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let row = i + 1;
        let line = line.map_err(|e| GeoError::BadRow {
            row,
            message: format!("unreadable: {e}"),
        })?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let (Some(a), Some(b)) = (fields.next(), fields.next()) else {
            return Err(GeoError::BadRow {
                row,
                message: format!("expected `lat,lon`, got {line:?}"),
            });
        };
        let (lat, lon) = match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(lat), Ok(lon)) => (lat, lon),
            _ if row == 1 && a.chars().any(|c| c.is_ascii_alphabetic()) => continue, // header
            _ => {
                return Err(GeoError::BadRow {
                    row,
                    message: format!("not numbers: {line:?}"),
                });
            }
        };
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::BadRow {
                row,
                message: format!("latitude {lat} outside [-90, 90]"),
            });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::BadRow {
                row,
                message: format!("longitude {lon} outside [-180, 180]"),
            });
        }
        points.push(LatLonDeg {
            lat_deg: lat,
            lon_deg: lon,
        });
    }
    if points.is_empty() {
        return Err(GeoError::NoPoints);
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random cloud: dense clusters (cities) over a sparse background.
    fn synthetic_points(n: usize, seed: u64) -> Vec<LatLonDeg> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let centres = [
            (35.0, 135.7),
            (48.85, 2.35),
            (40.7, -74.0),
            (-33.9, 151.2),
            (64.1, -21.9),
        ];
        (0..n)
            .map(|i| {
                if i % 4 == 0 {
                    LatLonDeg {
                        lat_deg: (next() * 2.0 - 1.0).asin().to_degrees(),
                        lon_deg: next() * 360.0 - 180.0,
                    }
                } else {
                    let (lat, lon) = centres[i % centres.len()];
                    let spread = if i % 3 == 0 { 0.05 } else { 2.0 };
                    LatLonDeg {
                        lat_deg: (lat + (next() - 0.5) * spread).clamp(-90.0, 90.0),
                        lon_deg: lon + (next() - 0.5) * spread,
                    }
                }
            })
            .collect()
    }

    const PARAMS: PartitionParams = PartitionParams {
        t_min: 5,
        t_max: 100,
        max_cell_level: 30,
    };

    #[test]
    fn kept_cells_never_overlap_and_respect_thresholds() {
        for seed in 1..=5 {
            let points = synthetic_points(5_000, seed);
            let partition = build_partition(&points, PARAMS).expect("builds");
            assert!(partition.cells.len() > 20);
            for pair in partition.cells.windows(2) {
                assert!(
                    pair[0].cell.range_max().0 < pair[1].cell.range_min().0,
                    "overlap"
                );
            }
            for c in &partition.cells {
                assert!(c.photo_count >= PARAMS.t_min && c.photo_count <= PARAMS.t_max);
                // S2 cells are convex on the sphere, so the mean of their photos lies inside.
                assert!(c.cell.contains(&leaf_cell(c.mean)), "{c:?}");
            }
        }
    }

    #[test]
    fn every_point_is_in_exactly_one_kept_cell_or_was_dropped() {
        let points = synthetic_points(5_000, 42);
        let partition = build_partition(&points, PARAMS).expect("builds");
        let mut kept = 0;
        for p in &points {
            let leaf = leaf_cell(*p);
            let holders = partition
                .cells
                .iter()
                .filter(|c| c.cell.contains(&leaf))
                .count();
            assert!(holders <= 1);
            kept += holders;
        }
        let counted: usize = partition.cells.iter().map(|c| c.photo_count as usize).sum();
        assert_eq!(kept, counted);
        assert_eq!(kept + partition.dropped_points, points.len());
        assert!(partition.coverage() > 0.5 && partition.coverage() <= 1.0);
    }

    #[test]
    fn order_of_points_does_not_matter() {
        let points = synthetic_points(3_000, 7);
        let mut reversed = points.clone();
        reversed.reverse();
        let a = build_partition(&points, PARAMS).expect("builds");
        let b = build_partition(&reversed, PARAMS).expect("builds");
        assert_eq!(
            a.cells
                .iter()
                .map(|c| (c.cell, c.photo_count))
                .collect::<Vec<_>>(),
            b.cells
                .iter()
                .map(|c| (c.cell, c.photo_count))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn max_level_stops_splitting_even_over_t_max() {
        let same = vec![
            LatLonDeg {
                lat_deg: 1.0,
                lon_deg: 2.0
            };
            500
        ];
        let params = PartitionParams {
            t_min: 1,
            t_max: 10,
            max_cell_level: 4,
        };
        let partition = build_partition(&same, params).expect("builds");
        assert_eq!(partition.cells.len(), 1);
        assert_eq!(partition.cells[0].cell.level(), 4);
        assert_eq!(partition.cells[0].photo_count, 500);
    }

    #[test]
    fn bad_input_is_a_clear_error_naming_the_row() {
        let read = |s: &str| read_points_csv(s.as_bytes());
        assert_eq!(read("LAT,LON\n1,2\n-3.5,4\n").expect("reads").len(), 2);
        assert_eq!(read("1,2\n").expect("reads headerless").len(), 1);
        let msg = |s: &str| read(s).expect_err("should fail").to_string();
        assert!(msg("LAT,LON\n1,2\nabc,4\n").contains("row 3"));
        assert!(msg("LAT,LON\n1,2\n91,4\n").contains("row 3: latitude 91 outside"));
        assert!(msg("1,2\n5,-181\n").contains("row 2: longitude -181"));
        assert!(msg("1,2\n5\n").contains("row 2"));
        assert!(msg("").contains("no points"));
        assert!(msg("LAT,LON\n").contains("no points"));
        assert!(matches!(
            build_partition(
                &[LatLonDeg {
                    lat_deg: 0.0,
                    lon_deg: 0.0
                }],
                PartitionParams {
                    t_min: 9,
                    t_max: 3,
                    max_cell_level: 30
                }
            ),
            Err(GeoError::BadThresholds { .. })
        ));
    }
}
