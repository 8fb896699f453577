//! Geocells: the adaptive partition at one granularity, with names, as shipped in `models/`.
//!
//! File format (CSV with a header): `token,level,photo_count,mean_lat_deg,mean_lon_deg,place_name`,
//! rows in S2 id order.

use std::path::Path;

use s2::cellid::CellID;
use s2::latlng::LatLng;
use serde::{Deserialize, Serialize};

use super::GeoError;
use super::partition::{LatLonDeg, Partition, PartitionParams};
use super::place_names::PlaceNamer;

/// The three partitions shipped with the app.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum,
)]
pub enum Granularity {
    Coarse,
    #[default]
    Middle,
    Fine,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Self::Coarse, Self::Middle, Self::Fine];

    pub fn label(self) -> &'static str {
        match self {
            Self::Coarse => "coarse",
            Self::Middle => "middle",
            Self::Fine => "fine",
        }
    }

    /// Thresholds used to build this level from GeoCLIP's 100k gallery (see `models/README.md`).
    pub fn params(self) -> PartitionParams {
        let (t_min, t_max) = match self {
            Self::Coarse => (20, 1000),
            Self::Middle => (10, 250),
            Self::Fine => (5, 60),
        };
        PartitionParams {
            t_min,
            t_max,
            max_cell_level: 30,
        }
    }

    fn embedded_csv(self) -> &'static str {
        match self {
            Self::Coarse => include_str!("../../models/geocells/coarse.csv"),
            Self::Middle => include_str!("../../models/geocells/middle.csv"),
            Self::Fine => include_str!("../../models/geocells/fine.csv"),
        }
    }
}

/// One named cell.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoCell {
    pub cell: CellID,
    pub photo_count: u32,
    pub mean: LatLonDeg,
    pub place_name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct GeoCellRow {
    token: String,
    level: u8,
    photo_count: u32,
    mean_lat_deg: f64,
    mean_lon_deg: f64,
    place_name: String,
}

/// A partition of the globe into named cells, sorted by S2 id.
#[derive(Debug, Clone)]
pub struct GeoCells {
    cells: Vec<GeoCell>,
}

/// Index of the item whose cell contains `leaf`, in items sorted by non-overlapping cell ids.
/// O(log n).
pub fn containing_index<T>(
    sorted: &[T],
    cell_of: impl Fn(&T) -> CellID,
    leaf: CellID,
) -> Option<usize> {
    let i = sorted.partition_point(|item| cell_of(item).range_min().0 <= leaf.0);
    let i = i.checked_sub(1)?;
    cell_of(&sorted[i]).contains(&leaf).then_some(i)
}

impl GeoCells {
    /// The shipped partition at a granularity.
    pub fn embedded(granularity: Granularity) -> Result<Self, GeoError> {
        Self::from_csv(granularity.embedded_csv().as_bytes())
    }

    /// Names every cell of a partition (at its mean photo location).
    pub fn from_partition(partition: &Partition, namer: &PlaceNamer) -> Self {
        let cells = partition
            .cells
            .iter()
            .map(|c| GeoCell {
                cell: c.cell,
                photo_count: c.photo_count,
                mean: c.mean,
                place_name: namer.name(c.mean.lat_deg, c.mean.lon_deg, c.cell.level()),
            })
            .collect();
        Self { cells }
    }

    pub fn from_csv(reader: impl std::io::Read) -> Result<Self, GeoError> {
        let mut csv = csv::Reader::from_reader(reader);
        let mut cells: Vec<GeoCell> = Vec::new();
        for (i, row) in csv.deserialize::<GeoCellRow>().enumerate() {
            let row_no = i + 2; // 1-based, after the header
            let bad = |message: String| GeoError::BadRow {
                row: row_no,
                message,
            };
            let row = row.map_err(|e| bad(e.to_string()))?;
            let cell = CellID::from_token(&row.token);
            if !cell.is_valid() || cell.to_token() != row.token {
                return Err(bad(format!("{:?} is not an S2 cell token", row.token)));
            }
            if cell.level() != u64::from(row.level) {
                return Err(bad(format!(
                    "token {} is level {}, not {}",
                    row.token,
                    cell.level(),
                    row.level
                )));
            }
            if let Some(prev) = cells.last()
                && prev.cell.range_max().0 >= cell.range_min().0
            {
                return Err(bad(format!(
                    "cell {} overlaps or precedes the row before",
                    row.token
                )));
            }
            cells.push(GeoCell {
                cell,
                photo_count: row.photo_count,
                mean: LatLonDeg {
                    lat_deg: row.mean_lat_deg,
                    lon_deg: row.mean_lon_deg,
                },
                place_name: row.place_name,
            });
        }
        if cells.is_empty() {
            return Err(GeoError::NoPoints);
        }
        Ok(Self { cells })
    }

    /// Writes the cells as CSV to `path` through [`crate::files::write_output`]: a full disk
    /// or a crash leaves any file already there whole; it is replaced only with `force`.
    pub fn write_csv(&self, path: &Path, force: bool) -> Result<(), GeoError> {
        crate::files::write_output(path, force, |w| self.write_csv_to(w))?;
        Ok(())
    }

    fn write_csv_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        for c in &self.cells {
            out.serialize(GeoCellRow {
                token: c.cell.to_token(),
                level: c.cell.level() as u8,
                photo_count: c.photo_count,
                mean_lat_deg: (c.mean.lat_deg * 1e5).round() / 1e5,
                mean_lon_deg: (c.mean.lon_deg * 1e5).round() / 1e5,
                place_name: c.place_name.clone(),
            })
            .map_err(std::io::Error::from)?;
        }
        out.flush()
    }

    pub fn cells(&self) -> &[GeoCell] {
        &self.cells
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn total_photos(&self) -> u64 {
        self.cells.iter().map(|c| u64::from(c.photo_count)).sum()
    }

    /// The cell holding a point, if a kept cell does. O(log n).
    pub fn lookup(&self, lat_deg: f64, lon_deg: f64) -> Option<&GeoCell> {
        self.lookup_index(lat_deg, lon_deg).map(|i| &self.cells[i])
    }

    /// Position in [`Self::cells`] of the cell holding a point, if a kept cell does. O(log n).
    pub fn lookup_index(&self, lat_deg: f64, lon_deg: f64) -> Option<usize> {
        if !lat_deg.is_finite() || !lon_deg.is_finite() {
            return None;
        }
        let leaf = CellID::from(LatLng::from_degrees(lat_deg.clamp(-90.0, 90.0), lon_deg));
        containing_index(&self.cells, |c| c.cell, leaf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::partition::{build_partition, leaf_cell};

    #[test]
    fn shipped_levels_load_and_grow_finer() {
        let mut prev_len = 0;
        for g in Granularity::ALL {
            let cells = GeoCells::embedded(g).expect("embedded geocells parse");
            assert!(cells.len() > prev_len, "{g:?} has {} cells", cells.len());
            prev_len = cells.len();
            let p = g.params();
            for c in cells.cells() {
                assert!(
                    c.photo_count >= p.t_min && c.photo_count <= p.t_max,
                    "{c:?}"
                );
                assert!(!c.place_name.is_empty());
            }
            // Every cell finds itself from its mean location.
            for c in cells.cells() {
                assert_eq!(
                    cells.lookup(c.mean.lat_deg, c.mean.lon_deg).map(|f| f.cell),
                    Some(c.cell)
                );
            }
        }
        let fine = GeoCells::embedded(Granularity::Fine).expect("fine");
        assert!(fine.len() >= 1000, "fine level has {} cells", fine.len());
        let tokyo = fine
            .lookup(35.6812, 139.7671)
            .expect("Tokyo is covered at the fine level");
        assert!(tokyo.place_name.ends_with("Japan"), "{}", tokyo.place_name);
    }

    #[test]
    fn csv_round_trips_and_rejects_bad_rows() {
        let points: Vec<LatLonDeg> = (0..400)
            .map(|i| LatLonDeg {
                lat_deg: 35.0 + (i % 20) as f64 * 0.01,
                lon_deg: 135.7 + (i / 20) as f64 * 0.01,
            })
            .collect();
        let params = PartitionParams {
            t_min: 2,
            t_max: 50,
            max_cell_level: 30,
        };
        let partition = build_partition(&points, params).expect("builds");
        let named = GeoCells::from_partition(&partition, &PlaceNamer::new());
        assert!(
            named
                .cells()
                .iter()
                .all(|c| c.place_name.ends_with("Japan"))
        );
        let dir = std::env::temp_dir().join(format!("geolens-geocells-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("cells.csv");
        let _ = std::fs::remove_file(&path);
        named.write_csv(&path, false).expect("writes");
        // Never over an existing file without force, and with force, whole.
        assert!(named.write_csv(&path, false).is_err());
        named.write_csv(&path, true).expect("replaces");
        let back = GeoCells::from_csv(std::fs::File::open(&path).expect("opens")).expect("reads");
        assert_eq!(back.len(), named.len());
        for (a, b) in back.cells().iter().zip(named.cells()) {
            assert_eq!(
                (a.cell, a.photo_count, &a.place_name),
                (b.cell, b.photo_count, &b.place_name)
            );
            assert!((a.mean.lat_deg - b.mean.lat_deg).abs() < 1e-5);
        }
        let _ = std::fs::remove_dir_all(&dir);
        let first = leaf_cell(points[0]);
        assert!(
            back.lookup(points[0].lat_deg, points[0].lon_deg)
                .is_some_and(|c| c.cell.contains(&first))
        );

        let header = "token,level,photo_count,mean_lat_deg,mean_lon_deg,place_name\n";
        let err = |body: &str| {
            GeoCells::from_csv(format!("{header}{body}").as_bytes())
                .expect_err("bad")
                .to_string()
        };
        assert!(err("zz,3,10,0,0,x\n").contains("row 2"));
        assert!(
            err("1,0,10,0,0,x\n1,0,10,0,0,x\n").contains("row 3"),
            "duplicate"
        );
        assert!(err("1,4,10,0,0,x\n").contains("level"));
        assert!(err("").contains("no points"));
    }
}
