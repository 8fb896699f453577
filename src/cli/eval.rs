//! `geolens eval DATASET.csv --images DIR`: the model's accuracy on a benchmark, as the
//! literature reports it, with per-photo results written to a CSV.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::CliError;
use super::photos::{load_predictor, run_photos};
use super::progress::Progress;
use crate::eval::{AccuracySummary, DatasetRow, read_dataset, summarize};
use crate::geo::distance::{geoguessr_points, haversine_km};
use crate::model::backend::BackendChoice;

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub dataset: PathBuf,
    pub images: PathBuf,
    /// Per-photo results; default `<dataset>.results.csv` beside the dataset.
    pub results: Option<PathBuf>,
    pub force: bool,
    pub model_dir: Option<PathBuf>,
    pub backend: BackendChoice,
}

/// What `eval` found, for printing.
#[derive(Debug, Clone)]
pub struct EvalReport {
    pub summary: Option<AccuracySummary>,
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
            writeln!(f, "median error: {:.1} km", s.median_error_km)?;
            writeln!(
                f,
                "mean GeoGuessr score: {:.0} / 5000",
                s.mean_geoguessr_points
            )?;
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

/// Runs the benchmark. Refuses to overwrite an existing results file unless `force`.
pub fn eval(options: &EvalOptions) -> Result<EvalReport, CliError> {
    let text = std::fs::read(&options.dataset).map_err(CliError::io(&options.dataset))?;
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
    if results_path.exists() && !options.force {
        return Err(CliError::Usage(format!(
            "{} exists; pass --force to overwrite it, or --results to write elsewhere",
            results_path.display()
        )));
    }
    let predictor = load_predictor(options.model_dir.as_deref(), options.backend)?;
    let photos: Vec<PathBuf> = rows.iter().map(|r| options.images.join(&r.path)).collect();

    // Results go to a hidden file first, renamed into place when complete.
    let tmp = results_path.with_file_name(format!(
        ".{}.partial",
        results_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let file = std::fs::File::create(&tmp).map_err(CliError::io(&tmp))?;
    let mut csv = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let io_tmp = |e: csv::Error| CliError::Io {
        path: tmp.clone(),
        source: std::io::Error::other(e),
    };
    csv.write_record([
        "path",
        "true_lat_deg",
        "true_lon_deg",
        "guess_lat_deg",
        "guess_lon_deg",
        "error_km",
        "geoguessr_points",
        "error",
    ])
    .map_err(io_tmp)?;
    let mut errors_km = Vec::with_capacity(rows.len());
    let mut failed = 0;
    let mut bar = Progress::new(rows.len(), 3);
    let mut write_failure = None;
    run_photos(&predictor, &photos, |i, outcome| {
        let row = &rows[i];
        let t = row.truth;
        let guess = outcome
            .result
            .and_then(|p| p.best_guess().ok_or_else(|| "no prediction".to_string()));
        let record = match guess {
            Ok(g) => {
                let km = haversine_km(t.lat_deg, t.lon_deg, g.lat_deg, g.lon_deg);
                errors_km.push(km);
                [
                    row.path.clone(),
                    t.lat_deg.to_string(),
                    t.lon_deg.to_string(),
                    g.lat_deg.to_string(),
                    g.lon_deg.to_string(),
                    format!("{km:.3}"),
                    format!("{:.1}", geoguessr_points(km)),
                    String::new(),
                ]
            }
            Err(message) => {
                failed += 1;
                bar.println(&format!("geolens: error: {message}"));
                [
                    row.path.clone(),
                    t.lat_deg.to_string(),
                    t.lon_deg.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    message,
                ]
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
    let finished = match write_failure {
        Some(e) => Err(io_tmp(e)),
        None => csv
            .into_inner()
            .map_err(|e| CliError::io(&tmp)(std::io::Error::other(e.to_string())))
            .and_then(|mut w| w.flush().map_err(CliError::io(&tmp))),
    };
    if let Err(e) = finished {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &results_path).map_err(CliError::io(&results_path))?;
    Ok(EvalReport {
        summary: summarize(&errors_km),
        listed: rows.len(),
        failed,
        results_path,
    })
}
