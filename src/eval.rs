//! Accuracy as the geolocation literature reports it (im2gps, PlaNet, GeoCLIP): the share of
//! photos whose guess lies within 1 / 25 / 200 / 750 / 2500 km of the truth (haversine on a
//! 6371 km sphere), the median and mean error, and the mean GeoGuessr score (OSV-5M's
//! "GeoScore": the same formula). Also the benchmark file format: a CSV of `path,lat,lon` in
//! the layout of the im2gps / im2gps3k meta files, with an optional `country` column (ISO
//! 3166 alpha-2, as in OSV-5M) for country accuracy.

use std::io::Read;

use serde::Serialize;
use thiserror::Error;

use crate::geo::distance::{ACCURACY_THRESHOLDS_KM, geoguessr_points};
use crate::geo::partition::LatLonDeg;

#[derive(Debug, Error)]
pub enum EvalError {
    #[error("line {line}: {message}")]
    BadRow { line: u64, message: String },
    #[error("the header has no {0} column (expected e.g. IMG_ID or path, LAT, LON)")]
    MissingColumn(&'static str),
    #[error("the dataset lists no photos")]
    Empty,
}

/// One benchmark photo: where its file is (relative to the images folder) and where it was
/// taken.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRow {
    pub path: String,
    pub truth: LatLonDeg,
    /// The country the photo was taken in (ISO 3166 alpha-2, upper case), when listed.
    pub country: Option<String>,
}

fn column(headers: &[String], names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

/// Reads a benchmark CSV. With a header, the columns are found by name (`IMG_ID`/`path`/
/// `file`/`image`, `LAT`/`latitude`, `LON`/`lng`/`longitude`; others, like im2gps3k's
/// `AUTHOR` or `S3_Label`, are ignored); without one, the columns are `path,lat,lon`.
pub fn read_dataset(reader: impl Read) -> Result<Vec<DatasetRow>, EvalError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = csv.records();
    let Some(first) = records.next() else {
        return Err(EvalError::Empty);
    };
    let bad = |line: u64, message: String| EvalError::BadRow { line, message };
    let first = first.map_err(|e| bad(1, e.to_string()))?;
    let is_number = |i: usize| {
        first
            .get(i)
            .is_some_and(|f| f.trim().parse::<f64>().is_ok())
    };
    let (columns, country, header_row) = if first.len() >= 3 && is_number(1) && is_number(2) {
        ((0, 1, 2), None, None)
    } else {
        let headers: Vec<String> = first.iter().map(str::to_string).collect();
        let path = column(
            &headers,
            &["img_id", "path", "file", "filename", "image", "photo"],
        )
        .ok_or(EvalError::MissingColumn("path"))?;
        let lat = column(&headers, &["lat", "latitude", "lat_deg"])
            .ok_or(EvalError::MissingColumn("LAT"))?;
        let lon = column(&headers, &["lon", "lng", "long", "longitude", "lon_deg"])
            .ok_or(EvalError::MissingColumn("LON"))?;
        let country = column(&headers, &["country", "country_code", "cc"]);
        ((path, lat, lon), country, Some(()))
    };
    let parse = |record: &csv::StringRecord, line: u64| -> Result<DatasetRow, EvalError> {
        let field = |i: usize, what: &str| {
            record
                .get(i)
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| bad(line, format!("no {what}")))
        };
        let path = field(columns.0, "path")?.to_string();
        let number = |i: usize, what: &str, limit: f64| -> Result<f64, EvalError> {
            let text = field(i, what)?;
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && v.abs() <= limit)
                .ok_or_else(|| {
                    bad(
                        line,
                        format!("{what} {text:?} is not a number within ±{limit}"),
                    )
                })
        };
        Ok(DatasetRow {
            path,
            truth: LatLonDeg {
                lat_deg: number(columns.1, "latitude", 90.0)?,
                lon_deg: number(columns.2, "longitude", 180.0)?,
            },
            country: country
                .and_then(|i| record.get(i))
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty()),
        })
    };
    let mut rows = Vec::new();
    if header_row.is_none() {
        rows.push(parse(&first, 1)?);
    }
    for (i, record) in records.enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows.push(parse(&record, line)?);
    }
    if rows.is_empty() {
        return Err(EvalError::Empty);
    }
    Ok(rows)
}

/// The literature's accuracy figures over a set of errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracySummary {
    pub evaluated: usize,
    /// `(threshold_km, share of photos within it)`, thresholds as in
    /// [`ACCURACY_THRESHOLDS_KM`], shares in [0, 1].
    pub within: Vec<(f64, f64)>,
    pub median_error_km: f64,
    pub mean_error_km: f64,
    /// Also OSV-5M's GeoScore (5000 exp(-d / 1492.7 km), averaged).
    pub mean_geoguessr_points: f64,
}

/// The median (the mean of the middle two for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// Summarises great-circle errors (km). `None` for no errors.
pub fn summarize(errors_km: &[f64]) -> Option<AccuracySummary> {
    if errors_km.is_empty() {
        return None;
    }
    let n = errors_km.len() as f64;
    let within = ACCURACY_THRESHOLDS_KM
        .iter()
        .map(|&t| (t, errors_km.iter().filter(|&&e| e <= t).count() as f64 / n))
        .collect();
    Some(AccuracySummary {
        evaluated: errors_km.len(),
        within,
        median_error_km: median(errors_km)?,
        mean_error_km: errors_km.iter().sum::<f64>() / n,
        mean_geoguessr_points: errors_km.iter().map(|&e| geoguessr_points(e)).sum::<f64>() / n,
    })
}

/// Accuracy of one third of the photos, split by how peaked the model's answer was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TercileSummary {
    /// "least sure", "middle", "most sure".
    pub label: &'static str,
    /// The localizability range of the photos in it.
    pub localizability: (f64, f64),
    pub summary: AccuracySummary,
}

/// Accuracy split by localizability terciles: photos sorted by localizability and cut in three
/// as-equal-as-can-be groups (the first third the least sure). An honest model is right more
/// often where it is sure. Empty for fewer than three photos.
pub fn summarize_by_localizability(results: &[(f64, f64)]) -> Vec<TercileSummary> {
    if results.len() < 3 {
        return Vec::new();
    }
    let mut sorted = results.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = sorted.len();
    ["least sure", "middle", "most sure"]
        .into_iter()
        .enumerate()
        .filter_map(|(t, label)| {
            let part = &sorted[t * n / 3..(t + 1) * n / 3];
            let errors: Vec<f64> = part.iter().map(|r| r.1).collect();
            Some(TercileSummary {
                label,
                localizability: (part.first()?.0, part.last()?.0),
                summary: summarize(&errors)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_im2gps3k_layout_plain_triples_and_names_bad_rows() {
        let im2gps3k = "IMG_ID,AUTHOR,LAT,LON,S3_Label\n\
                        1.jpg,someone,35.0,135.7,3\n\
                        2.jpg,other,-33.9,151.2,1\n";
        let rows = read_dataset(im2gps3k.as_bytes()).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].path, "2.jpg");
        assert_eq!(
            rows[1].truth,
            LatLonDeg {
                lat_deg: -33.9,
                lon_deg: 151.2
            }
        );
        let plain = "a/1.jpg,10,20\n\na/2.jpg,-10,-20\n";
        let rows = read_dataset(plain.as_bytes()).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].truth,
            LatLonDeg {
                lat_deg: 10.0,
                lon_deg: 20.0
            }
        );

        // OSV-5M's layout as `datasets fetch` writes it: a country per photo, maybe blank.
        let osv = "path,lat,lon,country,city\n\
                   photos/1.jpg,48.85,2.35,fr,Paris\n\
                   photos/2.jpg,35.0,135.7,,\n";
        let rows = read_dataset(osv.as_bytes()).expect("parses");
        assert_eq!(rows[0].country.as_deref(), Some("FR"));
        assert_eq!(rows[1].country, None);
        assert_eq!(
            read_dataset(plain.as_bytes()).expect("parses")[0].country,
            None
        );

        for (text, needle) in [
            ("", "no photos"),
            ("IMG_ID,LAT\n1.jpg,10\n", "LON"),
            ("path,lat,lon\n", "no photos"),
            ("path,lat,lon\n1.jpg,95,10\n", "line 2"),
            ("path,lat,lon\n1.jpg,10,x\n", "longitude"),
            ("path,lat,lon\n,10,10\n", "no path"),
        ] {
            let err = read_dataset(text.as_bytes()).expect_err(text).to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn summary_counts_thresholds_inclusively_and_takes_the_true_median() {
        let errors = [0.5, 1.0, 30.0, 800.0, 3000.0, 10_000.0];
        let s = summarize(&errors).expect("some");
        assert_eq!(s.evaluated, 6);
        let shares: Vec<f64> = s.within.iter().map(|w| w.1).collect();
        assert_eq!(
            shares,
            [2.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0, 3.0 / 6.0, 4.0 / 6.0]
        );
        assert_eq!(s.median_error_km, (30.0 + 800.0) / 2.0);
        assert_eq!(s.mean_error_km, errors.iter().sum::<f64>() / 6.0);
        let points: f64 = errors.iter().map(|&e| geoguessr_points(e)).sum::<f64>() / 6.0;
        assert_eq!(s.mean_geoguessr_points, points);
        assert_eq!(summarize(&[7.0]).expect("one").median_error_km, 7.0);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn terciles_split_by_localizability_not_by_order() {
        // Sure photos (0.8-0.9) are near; unsure ones (0.1-0.2) far; order shuffled.
        let results = [
            (0.85, 5.0),
            (0.15, 3000.0),
            (0.5, 300.0),
            (0.1, 5000.0),
            (0.9, 1.0),
            (0.45, 100.0),
        ];
        let terciles = summarize_by_localizability(&results);
        assert_eq!(terciles.len(), 3);
        assert_eq!(terciles[0].label, "least sure");
        assert_eq!(terciles[0].localizability, (0.1, 0.15));
        assert_eq!(terciles[2].localizability, (0.85, 0.9));
        assert_eq!(terciles[2].summary.evaluated, 2);
        assert_eq!(terciles[2].summary.within[0].1, 0.5, "1 km: one of the two");
        assert_eq!(terciles[0].summary.within[4].1, 0.0, "none within 2500 km");
        assert!(summarize_by_localizability(&results[..2]).is_empty());
    }
}
