//! How sure an answer is: credible regions (the smallest set of cells holding a share of the
//! probability, with its area and the countries it spans) and localizability (how peaked the
//! distribution over the gallery is).

use s2::cellid::CellID;
use serde::Serialize;

use super::CellProbabilities;
use crate::geo::distance::EARTH_RADIUS_KM;
use crate::geo::geocells::GeoCells;

/// The shares of the probability the app and `geolens predict` report regions for.
pub const CREDIBLE_MASSES: [f64; 2] = [0.5, 0.9];

/// Countries named for a region: the ones holding most of its mass.
const REGION_PLACES: usize = 3;

/// The smallest set of cells holding `mass` of the probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredibleRegion {
    /// The share asked for (0.5 for the 50 % region).
    pub mass: f64,
    /// The share the cells really hold (at least `mass`, unless every cell together holds less).
    pub held_mass: f64,
    pub cells: usize,
    pub area_km2: f64,
    /// The countries the region spans, the one holding most of its mass first (at most three).
    pub places: Vec<String>,
    /// The region's cells, most likely first.
    #[serde(skip)]
    pub cell_ids: Vec<CellID>,
}

impl CredibleRegion {
    /// "90 %: 41 cells, 2.1 million km², mostly France, Spain, Italy".
    pub fn describe(&self) -> String {
        format!(
            "{}: {} cell{}, {}{}",
            crate::scores::percent(self.mass),
            self.cells,
            if self.cells == 1 { "" } else { "s" },
            crate::scores::area_text(self.area_km2),
            places_in_words(&self.places)
                .map(|p| format!(", {p}"))
                .unwrap_or_default()
        )
    }
}

/// ", mostly France, Spain, Italy" without the comma: the region's countries in words; `None`
/// when it spans no named place (open sea).
pub fn places_in_words(places: &[String]) -> Option<String> {
    match places {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(format!("mostly {}", many.join(", "))),
    }
}

/// The smallest set of cells whose probabilities add up to `mass` (cells taken from the most
/// likely down; among equal probabilities the earlier cell in S2 order first, so the set is
/// always the same). When every cell together holds less than `mass`, all cells with any
/// probability.
pub fn credible_region(
    probabilities: &CellProbabilities,
    cells: &GeoCells,
    mass: f64,
) -> CredibleRegion {
    let scores = &probabilities.scores;
    let mut order: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i].probability > 0.0)
        .collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .probability
            .total_cmp(&scores[a].probability)
            .then(a.cmp(&b))
    });
    let mut held_mass = 0.0;
    let mut taken = 0;
    // Rounding must not add a cell: 0.4 + 0.3 + 0.2 is 0.8999999999999999 in floating point.
    let enough = mass - 1e-9;
    for &i in &order {
        if held_mass >= enough {
            break;
        }
        held_mass += scores[i].probability;
        taken += 1;
    }
    order.truncate(taken);
    let km2_per_steradian = EARTH_RADIUS_KM * EARTH_RADIUS_KM;
    let area_km2 = order
        .iter()
        .map(|&i| s2::cell::Cell::from(scores[i].cell).exact_area() * km2_per_steradian)
        .sum();
    CredibleRegion {
        mass,
        held_mass,
        cells: order.len(),
        area_km2,
        places: countries_by_mass(&order, probabilities, cells),
        cell_ids: order.iter().map(|&i| scores[i].cell).collect(),
    }
}

/// The countries of the cells at `indices` (the last part of each cell's place name), the one
/// holding most of the mass first.
fn countries_by_mass(
    indices: &[usize],
    probabilities: &CellProbabilities,
    cells: &GeoCells,
) -> Vec<String> {
    let mut by_country: Vec<(String, f64)> = Vec::new();
    for &i in indices {
        let Some(cell) = cells.cells().get(i) else {
            continue;
        };
        let country = cell
            .place_name
            .rsplit(", ")
            .next()
            .unwrap_or(&cell.place_name);
        if country.is_empty() {
            continue;
        }
        let p = probabilities.scores[i].probability;
        match by_country.iter_mut().find(|(c, _)| c == country) {
            Some((_, sum)) => *sum += p,
            None => by_country.push((country.to_string(), p)),
        }
    }
    by_country.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    by_country
        .into_iter()
        .take(REGION_PLACES)
        .map(|(c, _)| c)
        .collect()
}

/// How peaked a distribution over gallery points is, in [0, 1]: one minus its entropy over the
/// entropy of the uniform distribution (1: all on one point; 0: the same on every point).
pub fn localizability(point_probabilities: &[f32]) -> f64 {
    let n = point_probabilities.len();
    if n < 2 {
        return 1.0;
    }
    let total: f64 = point_probabilities
        .iter()
        .map(|&p| f64::from(p).max(0.0))
        .sum();
    if total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    let entropy: f64 = point_probabilities
        .iter()
        .map(|&p| f64::from(p).max(0.0) / total)
        .filter(|&p| p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    (1.0 - entropy / (n as f64).ln()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::geocells::Granularity;
    use crate::scores::CellScore;

    fn coarse() -> GeoCells {
        GeoCells::embedded(Granularity::Coarse).expect("coarse cells")
    }

    /// A distribution over the first cells of `cells` (the rest 0).
    fn distribution(cells: &GeoCells, first: &[f64]) -> CellProbabilities {
        CellProbabilities {
            granularity: Granularity::Coarse,
            scores: cells
                .cells()
                .iter()
                .enumerate()
                .map(|(i, c)| CellScore {
                    cell: c.cell,
                    probability: first.get(i).copied().unwrap_or(0.0),
                })
                .collect(),
            uncovered: 0.0,
        }
    }

    #[test]
    fn the_smallest_set_holding_the_mass_is_found() {
        let cells = coarse();
        let probabilities = distribution(&cells, &[0.1, 0.4, 0.05, 0.3, 0.15]);
        let half = credible_region(&probabilities, &cells, 0.5);
        // 0.4 alone is short of 0.5; 0.4 + 0.3 holds it.
        assert_eq!(half.cells, 2);
        assert!((half.held_mass - 0.7).abs() < 1e-12);
        assert_eq!(
            half.cell_ids,
            vec![cells.cells()[1].cell, cells.cells()[3].cell]
        );
        let ninety = credible_region(&probabilities, &cells, 0.9);
        assert_eq!(ninety.cells, 4, "0.4 + 0.3 + 0.15 + 0.1");
        // Areas are S2's own.
        let expected: f64 = ninety
            .cell_ids
            .iter()
            .map(|c| s2::cell::Cell::from(*c).exact_area() * EARTH_RADIUS_KM * EARTH_RADIUS_KM)
            .sum();
        assert!((ninety.area_km2 - expected).abs() < 1e-6 * expected);
        assert!(ninety.area_km2 > half.area_km2);
    }

    #[test]
    fn ties_are_broken_by_cell_order_and_short_mass_takes_every_cell() {
        let cells = coarse();
        let tied = distribution(&cells, &[0.25, 0.25, 0.25, 0.25]);
        let half = credible_region(&tied, &cells, 0.5);
        assert_eq!(
            half.cell_ids,
            vec![cells.cells()[0].cell, cells.cells()[1].cell]
        );
        // Mass outside every cell: the cells hold 0.6 in all; a 90 % region takes them all.
        let short = distribution(&cells, &[0.3, 0.2, 0.1]);
        let region = credible_region(&short, &cells, 0.9);
        assert_eq!(region.cells, 3);
        assert!((region.held_mass - 0.6).abs() < 1e-12);
        assert!(region.held_mass < region.mass);
        // An exact fit stops at the cell that reaches the mass.
        let exact = distribution(&cells, &[0.5, 0.5]);
        assert_eq!(credible_region(&exact, &cells, 0.5).cells, 1);
    }

    #[test]
    fn regions_name_their_countries_by_mass() {
        let cells = coarse();
        let find = |country: &str| {
            cells
                .cells()
                .iter()
                .position(|c| c.place_name.ends_with(country))
                .unwrap_or_else(|| panic!("a cell in {country}"))
        };
        let (fr, es, it, jp) = (find("France"), find("Spain"), find("Italy"), find("Japan"));
        let mut first = vec![0.0; cells.cells().len()];
        for (i, p) in [(fr, 0.4), (es, 0.3), (it, 0.2), (jp, 0.1)] {
            first[i] = p;
        }
        let probabilities = distribution(&cells, &first);
        let region = credible_region(&probabilities, &cells, 0.9);
        assert_eq!(region.places, vec!["France", "Spain", "Italy"]);
        let words = region.describe();
        assert!(
            words.starts_with("90 %: 3 cells, ") && words.ends_with("mostly France, Spain, Italy"),
            "{words}"
        );
        assert_eq!(
            places_in_words(&["Japan".to_string()]).as_deref(),
            Some("Japan")
        );
        assert_eq!(places_in_words(&[]), None);
    }

    #[test]
    fn localizability_runs_from_spread_to_sure() {
        assert!(localizability(&[0.25; 4]).abs() < 1e-12);
        assert!((localizability(&[1.0, 0.0, 0.0, 0.0]) - 1.0).abs() < 1e-12);
        let peaked = localizability(&[0.7, 0.1, 0.1, 0.1]);
        let flatter = localizability(&[0.4, 0.2, 0.2, 0.2]);
        assert!(peaked > flatter && flatter > 0.0, "{peaked} {flatter}");
        assert_eq!(localizability(&[0.0, 0.0]), 0.0);
    }
}
