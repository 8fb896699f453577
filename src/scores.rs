//! Cell scores: a number for each S2 cell, as the heatmap draws them. They come from the
//! model's cell probabilities ([`crate::predict::CellProbabilities`]), from a CSV file given
//! on the command line (`--heatmap`), or from the photo density of GeoCLIP's gallery per
//! shipped geocell (the map before any photo).

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

/// A probability as people read percentages: "56 %", "5.6 %", "0.06 %", and "< 0.01 %" for
/// anything smaller but not zero (never "6.4e-4%").
pub fn percent(probability: f64) -> String {
    let pct = probability * 100.0;
    if !pct.is_finite() {
        return "-".into();
    }
    if pct <= 0.0 {
        "0 %".into()
    } else if pct < 0.01 {
        "< 0.01 %".into()
    } else if pct < 1.0 {
        format!("{pct:.2} %")
    } else if pct < 10.0 {
        format!("{pct:.1} %")
    } else {
        format!("{pct:.0} %")
    }
}

/// An area as people read it: "870 km²", "12,300 km²", "2.1 million km²".
pub fn area_text(area_km2: f64) -> String {
    let rounded = if area_km2 >= 1e4 {
        (area_km2 / 100.0).round() * 100.0
    } else {
        area_km2.round()
    };
    if !rounded.is_finite() {
        "-".into()
    } else if rounded >= 1e6 {
        format!("{:.1} million km²", rounded / 1e6)
    } else if rounded >= 1e3 {
        let n = rounded as u64;
        format!("{},{:03} km²", n / 1000, n % 1000)
    } else {
        format!("{rounded:.0} km²")
    }
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

/// Reads `token,probability` rows (header optional; a UTF-8 byte-order mark is skipped).
/// Every row has exactly two fields; probabilities lie in [0, 1] and sum to at most 1; cells
/// must not overlap. Errors name the 1-based row.
pub fn read_cell_scores_csv(mut reader: impl Read) -> Result<Vec<CellScore>, ScoresError> {
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|e| ScoresError::BadRow {
            row: 1,
            message: format!("unreadable: {e}"),
        })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut scores = Vec::new();
    let mut total = 0f64;
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |message: String| ScoresError::BadRow { row, message };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [token, p] = fields[..] else {
            return Err(bad(format!(
                "expected two fields `token,probability`, got {} in {line:?}",
                fields.len()
            )));
        };
        let Ok(probability) = p.parse::<f64>() else {
            if row == 1 {
                continue; // header
            }
            return Err(bad(format!("probability {p:?} is not a number")));
        };
        if !(0.0..=1.0).contains(&probability) {
            return Err(bad(format!(
                "probability {probability} must lie between 0 and 1"
            )));
        }
        total += probability;
        let cell = CellID::from_token(token);
        if !cell.is_valid() || cell.to_token() != token {
            return Err(bad(format!("{token:?} is not an S2 cell token")));
        }
        scores.push(CellScore { cell, probability });
    }
    if scores.is_empty() {
        return Err(ScoresError::Empty);
    }
    if total > 1.0 + 1e-6 {
        return Err(ScoresError::BadRow {
            row: 1,
            message: format!(
                "the probabilities sum to {total}, more than 1: normalise them (divide each by \
                 the sum) first"
            ),
        });
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

    #[test]
    fn percentages_read_plainly() {
        assert_eq!(percent(0.564), "56 %");
        assert_eq!(percent(0.056), "5.6 %");
        assert_eq!(percent(0.0006), "0.06 %");
        assert_eq!(percent(0.0000064), "< 0.01 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(1.0), "100 %");
        assert_eq!(percent(f64::NAN), "-");
        assert_eq!(area_text(870.4), "870 km²");
        assert_eq!(area_text(12_345.0), "12,300 km²");
        assert_eq!(area_text(999_990.0), "1.0 million km²");
        assert_eq!(area_text(2_140_000.0), "2.1 million km²");
    }
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
        // Not probabilities: above 1, summing past 1, infinite.
        assert!(err("1,5\n").contains("between 0 and 1"));
        assert!(err("1,0.7\n3,0.6\n").contains("sum to"));
        assert!(err("1,1e308\n").contains("between 0 and 1"));
        // A first row of three fields is an error, not a header.
        assert!(err("1,0.5,x\n3,0.2\n").contains("two fields"));
        // A byte-order mark (as spreadsheets write) is skipped.
        let bom = read_cell_scores_csv("\u{feff}token,probability\n1,0.25\n".as_bytes());
        assert_eq!(bom.expect("reads").len(), 1);
    }
}
