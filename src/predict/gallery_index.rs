//! The gallery's points and the geocell each falls in, at every granularity.

use super::clock;
use crate::geo::GeoError;
use crate::geo::geocells::{GeoCells, Granularity};
use crate::geo::partition::LatLonDeg;

/// The gallery points and, for each granularity, the geocell each point falls in.
#[derive(Debug)]
pub struct GalleryIndex {
    pub points: Vec<LatLonDeg>,
    pub(super) levels: Vec<(Granularity, GeoCells, Vec<Option<u32>>)>,
    /// Each point's time zone, looked up on first use (for the clock prior).
    pub(super) zones: std::sync::OnceLock<clock::ZoneIndex>,
}

impl GalleryIndex {
    /// Looks every point up in the shipped geocells of all three granularities.
    pub fn new(points: Vec<LatLonDeg>) -> Result<Self, GeoError> {
        let levels = Granularity::ALL
            .into_iter()
            .map(|granularity| {
                let cells = GeoCells::embedded(granularity)?;
                let index = points
                    .iter()
                    .map(|p| cells.lookup_index(p.lat_deg, p.lon_deg).map(|i| i as u32))
                    .collect();
                Ok((granularity, cells, index))
            })
            .collect::<Result<_, GeoError>>()?;
        Ok(Self {
            points,
            levels,
            zones: std::sync::OnceLock::new(),
        })
    }

    pub(super) fn level(&self, granularity: Granularity) -> (&GeoCells, &[Option<u32>]) {
        let (_, cells, index) = self
            .levels
            .iter()
            .find(|(g, _, _)| *g == granularity)
            .expect("every granularity is indexed in new()");
        (cells, index)
    }

    pub fn cells(&self, granularity: Granularity) -> &GeoCells {
        self.level(granularity).0
    }

    /// Every point's time zone (looked up once, about 0.1 s for the 100k points).
    pub fn zones(&self) -> &clock::ZoneIndex {
        self.zones
            .get_or_init(|| clock::ZoneIndex::new(&self.points))
    }

    /// The cells of a granularity where most gallery points are `inside` (one flag a point).
    pub fn cells_mostly(
        &self,
        granularity: Granularity,
        inside: &[bool],
    ) -> Vec<s2::cellid::CellID> {
        let (cells, index) = self.level(granularity);
        let mut counts = vec![(0u32, 0u32); cells.cells().len()];
        for (cell, inside) in index.iter().zip(inside) {
            if let Some(i) = cell {
                let c = &mut counts[*i as usize];
                c.0 += u32::from(*inside);
                c.1 += 1;
            }
        }
        cells
            .cells()
            .iter()
            .zip(counts)
            .filter(|(_, (inside, all))| 2 * inside > *all)
            .map(|(c, _)| c.cell)
            .collect()
    }
}
