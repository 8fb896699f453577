//! Cell scores: a probability for each S2 cell. Today they come from a file or from the photo
//! density prior of the shipped geocells; the geolocation model will produce them next.

use std::io::Read;

use s2::cellid::CellID;
use thiserror::Error;

use crate::geo::distance::EARTH_RADIUS_KM;
use crate::geo::geocells::GeoCells;

#[derive(Debug, Error)]
pub enum ScoresError {
    #[error("row {row}: {message}")]
    BadRow { row: usize, message: String },
    #[error("no cell scores in the input")]
    Empty,
    #[error("cells {0} and {1} overlap: scores must be over non-overlapping cells")]
    Overlap(String, String),
}

/// Probability mass on one S2 cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellScore {
    pub cell: CellID,
    pub probability: f64,
}

/// The photo-density prior: each shipped geocell's share of the gallery photos it was built from.
pub fn photo_density_prior(cells: &GeoCells) -> Vec<CellScore> {
    let total = cells.total_photos().max(1) as f64;
    cells
        .cells()
        .iter()
        .map(|c| CellScore {
            cell: c.cell,
            probability: f64::from(c.photo_count) / total,
        })
        .collect()
}

/// Photos per 1000 km^2 in each shipped geocell: where people take photos, for the sample map.
pub fn photo_density_per_1000_km2(cells: &GeoCells) -> Vec<(CellID, f64)> {
    let km2_per_steradian = EARTH_RADIUS_KM * EARTH_RADIUS_KM;
    cells
        .cells()
        .iter()
        .map(|c| {
            let area_km2 = s2::cell::Cell::from(c.cell).exact_area() * km2_per_steradian;
            (c.cell, f64::from(c.photo_count) / area_km2 * 1000.0)
        })
        .collect()
}

/// Reads `token,probability` rows (header optional). Probabilities must be finite and >= 0;
/// cells must not overlap. Errors name the 1-based row.
pub fn read_cell_scores_csv(mut reader: impl Read) -> Result<Vec<CellScore>, ScoresError> {
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|e| ScoresError::BadRow {
            row: 1,
            message: format!("unreadable: {e}"),
        })?;
    let mut scores = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| ScoresError::BadRow { row, message };
        let (token, p) = line
            .split_once(',')
            .ok_or_else(|| bad(format!("expected `token,probability`, got {line:?}")))?;
        let (token, p) = (token.trim(), p.trim());
        let Ok(probability) = p.parse::<f64>() else {
            if row == 1 {
                continue; // header
            }
            return Err(bad(format!("probability {p:?} is not a number")));
        };
        if !probability.is_finite() || probability < 0.0 {
            return Err(bad(format!(
                "probability {probability} must be finite and >= 0"
            )));
        }
        let cell = CellID::from_token(token);
        if !cell.is_valid() || cell.to_token() != token {
            return Err(bad(format!("{token:?} is not an S2 cell token")));
        }
        scores.push(CellScore { cell, probability });
    }
    if scores.is_empty() {
        return Err(ScoresError::Empty);
    }
    let mut sorted: Vec<CellID> = scores.iter().map(|s| s.cell).collect();
    sorted.sort_by_key(|c| c.0);
    for pair in sorted.windows(2) {
        if pair[0].range_max().0 >= pair[1].range_min().0 {
            return Err(ScoresError::Overlap(pair[0].to_token(), pair[1].to_token()));
        }
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::geocells::Granularity;

    #[test]
    fn prior_sums_to_one_and_follows_photo_counts() {
        let cells = GeoCells::embedded(Granularity::Coarse).expect("coarse");
        let prior = photo_density_prior(&cells);
        let sum: f64 = prior.iter().map(|s| s.probability).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        let densest = cells
            .cells()
            .iter()
            .max_by_key(|c| c.photo_count)
            .map(|c| c.cell);
        let top = prior
            .iter()
            .max_by(|a, b| a.probability.total_cmp(&b.probability))
            .map(|s| s.cell);
        assert_eq!(densest, top);
    }

    #[test]
    fn density_is_count_over_area() {
        let cells = GeoCells::embedded(Granularity::Fine).expect("fine");
        let density = photo_density_per_1000_km2(&cells);
        assert_eq!(density.len(), cells.len());
        // A whole face is 1/6 of the Earth's 510 million km^2.
        let face = CellID::from_face(0);
        let face_km2 = s2::cell::Cell::from(face).exact_area() * EARTH_RADIUS_KM * EARTH_RADIUS_KM;
        assert!((face_km2 / 85.0e6 - 1.0).abs() < 0.01, "{face_km2}");
        // Dense city cells beat the sparse large ones by orders of magnitude.
        let (lo, hi) = density.iter().fold((f64::MAX, 0.0f64), |(lo, hi), (_, d)| {
            (lo.min(*d), hi.max(*d))
        });
        assert!(hi / lo > 1000.0, "{lo} .. {hi}");
    }

    #[test]
    fn reads_scores_and_rejects_bad_ones() {
        let ok =
            read_cell_scores_csv("token,probability\n1,0.25\n3,0.75\n".as_bytes()).expect("reads");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].cell, CellID::from_face(1));
        let err = |s: &str| {
            read_cell_scores_csv(s.as_bytes())
                .expect_err("bad")
                .to_string()
        };
        assert!(err("1,0.5\nxyz,0.1\n").contains("row 2"));
        assert!(err("1,0.5\n3,-1\n").contains("row 2"));
        assert!(err("1,0.5\n3,NaN\n").contains("row 2"));
        assert!(err("1,0.5\n3,abc\n").contains("row 2"));
        assert!(err("token,probability\n").contains("no cell scores"));
        // Face 0 ("1") and one of its children ("04") overlap.
        assert!(err("1,0.5\n04,0.1\n").contains("overlap"));
    }
}
