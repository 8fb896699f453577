//! `geolens eval DATASET.csv --images DIR`: the model's accuracy on a benchmark, as the
//! literature reports it, with per-photo results written to a CSV.

use std::path::{Path, PathBuf};

use super::photos::{load_predictor, run_photos};
use super::progress::Progress;
use super::{CliError, Exit, OnOff};
use crate::eval::{
    AccuracySummary, DatasetRow, TercileSummary, read_dataset, summarize,
    summarize_by_localizability,
};
use crate::geo::distance::{geoguessr_points, haversine_km};
use crate::geo::place_names::PlaceNamer;
use crate::model::config::ModelConfig;
use crate::photo::exif::PhotoFacts;
use crate::predict::Prediction;

/// Accuracy on a benchmark: a CSV of `path,lat,lon` (im2gps / im2gps3k layout) and the
/// folder its paths are relative to.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalOptions {
    pub dataset: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub images: PathBuf,
    /// Per-photo results CSV (default: <DATASET>.results.csv beside the dataset).
    #[arg(long, value_name = "CSV")]
    pub results: Option<PathBuf>,
    /// Overwrite an existing results file.
    #[arg(long)]
    pub force: bool,
    /// Weigh answers by the photos' clocks (off by default, so benchmarks compare with
    /// the literature's).
    #[arg(long, value_enum, default_value = "off")]
    pub clock_prior: OnOff,
}

/// What `eval` found, for printing.
#[derive(Debug, Clone)]
pub struct EvalReport {
    pub summary: Option<AccuracySummary>,
    /// The same, for the least sure, middle and most sure third of the photos.
    pub by_localizability: Vec<TercileSummary>,
    /// `(guessed in the right country, answered photos with a country)`, when the dataset
    /// lists countries.
    pub country_right: Option<(usize, usize)>,
    pub listed: usize,
    pub failed: usize,
    pub results_path: PathBuf,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let evaluated = self.listed - self.failed;
        writeln!(
            f,
            "photos evaluated: {evaluated} of {} ({} could not be read)",
            self.listed, self.failed
        )?;
        if let Some(s) = &self.summary {
            writeln!(f, "{:>10}  {:>7}", "within", "photos")?;
            for (km, share) in &s.within {
                writeln!(f, "{:>7} km  {:>6.1}%", km, share * 100.0)?;
            }
            writeln!(
                f,
                "median error: {:.1} km, mean error: {:.0} km",
                s.median_error_km, s.mean_error_km
            )?;
            writeln!(
                f,
                "mean GeoGuessr score (OSV-5M's GeoScore): {:.0} / 5000",
                s.mean_geoguessr_points
            )?;
        }
        if let Some((right, listed)) = self.country_right
            && listed > 0
        {
            writeln!(
                f,
                "right country: {:.1}% of {listed} photos (the guess's country: its nearest \
                 GeoNames place)",
                100.0 * right as f64 / listed as f64
            )?;
        }
        if !self.by_localizability.is_empty() {
            writeln!(
                f,
                "by localizability (how peaked the answer was), % within:"
            )?;
            write!(
                f,
                "{:>12}  {:>13}  {:>6}",
                "tercile", "localizability", "photos"
            )?;
            for km in crate::geo::distance::ACCURACY_THRESHOLDS_KM {
                write!(f, "  {:>7}", format!("{km} km"))?;
            }
            writeln!(f)?;
            for t in &self.by_localizability {
                write!(
                    f,
                    "{:>12}  {:>6.3}-{:<6.3}  {:>6}",
                    t.label, t.localizability.0, t.localizability.1, t.summary.evaluated
                )?;
                for (_, share) in &t.summary.within {
                    write!(f, "  {:>6.1}%", share * 100.0)?;
                }
                writeln!(f)?;
            }
        }
        write!(f, "per-photo results: {}", self.results_path.display())
    }
}

fn default_results_path(dataset: &Path) -> PathBuf {
    let stem = dataset
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    dataset.with_file_name(format!("{stem}.results.csv"))
}

/// The per-photo results CSV's columns.
const RESULT_COLUMNS: [&str; 9] = [
    "path",
    "true_lat_deg",
    "true_lon_deg",
    "guess_lat_deg",
    "guess_lon_deg",
    "error_km",
    "geoguessr_points",
    "localizability",
    "error",
];

/// One row of the results CSV: the guess and its error, or the reason there is none.
fn result_record(row: &DatasetRow, guess: Option<Guess>, error: String) -> [String; 9] {
    let t = row.truth;
    let (lat, lon, km, points, localizability) = match guess {
        Some(g) => (
            g.lat_deg.to_string(),
            g.lon_deg.to_string(),
            format!("{:.3}", g.error_km),
            format!("{:.1}", geoguessr_points(g.error_km)),
            format!("{:.4}", g.localizability),
        ),
        None => Default::default(),
    };
    [
        row.path.clone(),
        t.lat_deg.to_string(),
        t.lon_deg.to_string(),
        lat,
        lon,
        km,
        points,
        localizability,
        error,
    ]
}

/// The model's answer for one benchmark photo.
#[derive(Debug, Clone, Copy)]
struct Guess {
    lat_deg: f64,
    lon_deg: f64,
    error_km: f64,
    localizability: f64,
    /// Whether the guess is in the photo's country (`None`: the dataset does not say).
    country_right: Option<bool>,
}

/// The model's answer for a benchmark row: the clock-weighed one when `clock_prior` and the
/// photo has a clock, else the plain one; its country checked when the row lists one.
fn guess_for(
    row: &DatasetRow,
    plain: Prediction,
    facts: &PhotoFacts,
    clock_prior: bool,
    countries: Option<&PlaceNamer>,
) -> Result<Guess, String> {
    let p = match plain.clock_answer(facts) {
        Ok(Some(answer)) if clock_prior => answer.prediction,
        _ => plain,
    };
    let g = p.best_guess().ok_or_else(|| "no prediction".to_string())?;
    Ok(Guess {
        lat_deg: g.lat_deg,
        lon_deg: g.lon_deg,
        error_km: haversine_km(row.truth.lat_deg, row.truth.lon_deg, g.lat_deg, g.lon_deg),
        localizability: p.localizability(),
        country_right: row
            .country
            .as_deref()
            .zip(countries)
            .map(|(truth, namer)| namer.country_code(g.lat_deg, g.lon_deg) == truth),
    })
}

/// Runs `geolens eval`: the benchmark, then its report to `out`.
pub fn run_eval(
    options: &EvalOptions,
    model: &ModelConfig,
    out: &mut dyn std::io::Write,
) -> Result<Exit, CliError> {
    let report = eval(options, model)?;
    writeln!(out, "{report}").map_err(CliError::io("standard output"))?;
    Ok(Exit::failed(report.failed))
}

/// Runs the benchmark. Refuses to overwrite an existing results file unless `force`.
pub fn eval(options: &EvalOptions, model: &ModelConfig) -> Result<EvalReport, CliError> {
    let text =
        crate::files::read_regular(&options.dataset).map_err(CliError::io(&options.dataset))?;
    let rows: Vec<DatasetRow> = read_dataset(text.as_slice())
        .map_err(|e| CliError::Usage(format!("{}: {e}", options.dataset.display())))?;
    if !options.images.is_dir() {
        return Err(CliError::Usage(format!(
            "--images {} is not a folder",
            options.images.display()
        )));
    }
    let results_path = options
        .results
        .clone()
        .unwrap_or_else(|| default_results_path(&options.dataset));
    // Checked before the model loads; the file is written whole or not at all.
    let photos: Vec<PathBuf> = rows.iter().map(|r| options.images.join(&r.path)).collect();
    let mut inputs: Vec<&Path> = photos.iter().map(PathBuf::as_path).collect();
    inputs.push(&options.dataset);
    crate::files::check_report_output(&results_path, options.force, &inputs, false)?;
    let predictor = load_predictor(model)?;
    let countries = rows
        .iter()
        .any(|r| r.country.is_some())
        .then(PlaceNamer::new);
    let mut country_right = countries.as_ref().map(|_| (0, 0));
    // (localizability, error) of every photo the model answered.
    let mut answered: Vec<(f64, f64)> = Vec::with_capacity(rows.len());
    let mut failed = 0;
    crate::files::write_output(&results_path, options.force, |out| {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(RESULT_COLUMNS)?;
        let mut bar = Progress::new(rows.len(), 3);
        let mut write_failure = None;
        run_photos(&predictor, &photos, |i, outcome| {
            let row = &rows[i];
            let guess = outcome.result.and_then(|plain| {
                guess_for(
                    row,
                    plain,
                    &outcome.facts,
                    options.clock_prior.is_on(),
                    countries.as_ref(),
                )
            });
            let record = match guess {
                Ok(g) => {
                    answered.push((g.localizability, g.error_km));
                    if let (Some(right), Some((hits, listed))) =
                        (g.country_right, country_right.as_mut())
                    {
                        *hits += usize::from(right);
                        *listed += 1;
                    }
                    result_record(row, Some(g), String::new())
                }
                Err(message) => {
                    failed += 1;
                    bar.println(&format!("geolens: error: {}", super::printable(&message)));
                    result_record(row, None, message)
                }
            };
            bar.update(i as u64 + 1, rows.len() as u64, &row.path);
            if write_failure.is_none()
                && let Err(e) = csv.write_record(&record)
            {
                write_failure = Some(e);
            }
        });
        drop(bar);
        match write_failure {
            Some(e) => Err(std::io::Error::from(e)),
            None => csv.flush(),
        }
    })?;
    let errors_km: Vec<f64> = answered.iter().map(|a| a.1).collect();
    Ok(EvalReport {
        summary: summarize(&errors_km),
        by_localizability: summarize_by_localizability(&answered),
        country_right,
        listed: rows.len(),
        failed,
        results_path,
    })
}
