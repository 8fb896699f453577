//! What the model answers for one photo: gallery probabilities, cell probabilities, place
//! and point guesses, and what the photo's clock made of them.

use std::sync::Arc;

use super::GalleryIndex;
use super::certainty::{self, CredibleRegion};
use super::clock::{self, ClockClue};
use crate::geo::geocells::Granularity;
use crate::geo::partition::LatLonDeg;
use crate::model::geoclip::scoring::top_k;
use crate::photo::exif::PhotoFacts;
use crate::scores::CellScore;

/// One gallery location and its probability.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PointGuess {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub probability: f64,
}

/// One of the most likely places: a geocell with its probability and name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlaceGuess {
    pub token: String,
    pub cell_level: u64,
    pub probability: f64,
    pub place_name: String,
    /// Mean location of the cell's photos: a better pin than the cell's geometric centre.
    pub center: LatLonDeg,
}

/// Probabilities over the geocells of one granularity, in the cells' order.
#[derive(Debug, Clone, PartialEq)]
pub struct CellProbabilities {
    pub granularity: Granularity,
    /// Sums to 1: the mass of gallery points outside every kept cell is left out and the rest
    /// renormalised.
    pub scores: Vec<CellScore>,
    /// Probability mass the model put on gallery points in no kept cell (before renormalising).
    pub uncovered: f64,
}

/// What the photo's clock made of an answer.
#[derive(Debug, Clone)]
pub struct ClockAnswer {
    pub clue: ClockClue,
    /// The answer with the clock as a prior.
    pub prediction: Prediction,
    /// For each gallery point, whether its time zone kept the camera's offset.
    pub inside: Vec<bool>,
}

/// The model's answer for one photo: a probability for each gallery point.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub(super) index: Arc<GalleryIndex>,
    pub(super) point_probabilities: Vec<f32>,
}

impl Prediction {
    pub fn point_probabilities(&self) -> &[f32] {
        &self.point_probabilities
    }

    /// The `k` most likely gallery points, most likely first.
    pub fn top_points(&self, k: usize) -> Vec<PointGuess> {
        top_k(&self.point_probabilities, k)
            .into_iter()
            .map(|(i, p)| {
                let point = self.index.points[i];
                PointGuess {
                    lat_deg: point.lat_deg,
                    lon_deg: point.lon_deg,
                    probability: f64::from(p),
                }
            })
            .collect()
    }

    /// The radius around `centre` (km) within which the gallery points hold `mass` of the
    /// probability: a credible circle, as wide as the answer is unsure.
    pub fn radius_holding_km(&self, centre: LatLonDeg, mass: f64) -> f64 {
        let mut by_distance: Vec<(f64, f32)> = self
            .index
            .points
            .iter()
            .zip(&self.point_probabilities)
            .filter(|(_, p)| **p > 0.0)
            .map(|(at, p)| {
                let km = crate::geo::distance::haversine_km(
                    centre.lat_deg,
                    centre.lon_deg,
                    at.lat_deg,
                    at.lon_deg,
                );
                (km, *p)
            })
            .collect();
        by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut held = 0.0;
        for (km, p) in &by_distance {
            held += f64::from(*p);
            if held >= mass - 1e-9 {
                return *km;
            }
        }
        by_distance.last().map_or(0.0, |(km, _)| *km)
    }

    /// The model's single answer: its most likely gallery point (GeoCLIP's top-1 guess).
    pub fn best_guess(&self) -> Option<PointGuess> {
        self.top_points(1).pop()
    }

    /// The `k` most likely geocells of a granularity, most likely first (ties: S2 order).
    pub fn top_places(&self, granularity: Granularity, k: usize) -> Vec<PlaceGuess> {
        let probabilities = self.cell_probabilities(granularity);
        let cells = self.index.cells(granularity).cells();
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by(|&a, &b| {
            probabilities.scores[b]
                .probability
                .total_cmp(&probabilities.scores[a].probability)
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(k)
            .map(|i| PlaceGuess {
                token: cells[i].cell.to_token(),
                cell_level: cells[i].cell.level(),
                probability: probabilities.scores[i].probability,
                place_name: cells[i].place_name.clone(),
                center: cells[i].mean,
            })
            .collect()
    }

    /// The answer with the photo's clock as a prior (points outside the time zones that kept
    /// the camera's UTC offset on the capture date scaled down, see [`clock`]), with what the
    /// clock said. `Ok(None)` when EXIF has no clock offset; `Err` with a note when it cannot
    /// be read (the plain answer stands).
    pub fn clock_answer(
        &self,
        facts: &PhotoFacts,
    ) -> Result<Option<ClockAnswer>, clock::ClockError> {
        let Some(camera) = clock::camera_clock(facts)? else {
            return Ok(None);
        };
        let zones = self.index.zones();
        let inside = zones.points_matching(&camera);
        let mut point_probabilities = self.point_probabilities.clone();
        let mass_in_zones = clock::apply_clock_prior(&mut point_probabilities, &inside);
        let agrees_with_gps = facts
            .gps
            .and_then(|g| camera.matches_zone(clock::zone_at(g)));
        Ok(Some(ClockAnswer {
            clue: ClockClue {
                clock: camera.describe(),
                matching_zones: zones.matching_zones(&camera),
                mass_in_zones,
                applied: false,
                agrees_with_gps,
            },
            prediction: Prediction {
                index: self.index.clone(),
                point_probabilities,
            },
            inside,
        }))
    }

    /// The cells of a granularity where most gallery points are flagged `inside`.
    pub fn cells_mostly(
        &self,
        granularity: Granularity,
        inside: &[bool],
    ) -> Vec<s2::cellid::CellID> {
        self.index.cells_mostly(granularity, inside)
    }

    /// The smallest sets of cells of a granularity holding each of `masses` of the probability.
    pub fn credible_regions(
        &self,
        granularity: Granularity,
        masses: &[f64],
    ) -> Vec<CredibleRegion> {
        let probabilities = self.cell_probabilities(granularity);
        let cells = self.index.cells(granularity);
        masses
            .iter()
            .map(|&mass| certainty::credible_region(&probabilities, cells, mass))
            .collect()
    }

    /// How peaked the answer is, from 0 (the same on every gallery point) to 1 (one point).
    pub fn localizability(&self) -> f64 {
        certainty::localizability(&self.point_probabilities)
    }

    /// Each geocell's probability: the sum over the gallery points inside it.
    pub fn cell_probabilities(&self, granularity: Granularity) -> CellProbabilities {
        let (cells, index) = self.index.level(granularity);
        let mut sums = vec![0f64; cells.len()];
        let mut uncovered = 0f64;
        for (cell, p) in index.iter().zip(&self.point_probabilities) {
            match cell {
                Some(i) => sums[*i as usize] += f64::from(*p),
                None => uncovered += f64::from(*p),
            }
        }
        let covered: f64 = sums.iter().sum();
        let scale = if covered > 0.0 { 1.0 / covered } else { 0.0 };
        CellProbabilities {
            granularity,
            scores: cells
                .cells()
                .iter()
                .zip(sums)
                .map(|(c, s)| CellScore {
                    cell: c.cell,
                    probability: s * scale,
                })
                .collect(),
            uncovered: uncovered / (covered + uncovered).max(f64::MIN_POSITIVE),
        }
    }
}
