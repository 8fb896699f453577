//! `geolens export PATH... --out FILE`: one point per photo (its own camera GPS, else the
//! location its XMP sidecar holds, else the model's best guess) as GeoJSON, GPX, KML or CSV.

use std::path::PathBuf;

use super::photos::{collect_photos, load_predictor, run_photos};
use super::predict::PhotoReport;
use super::progress::Progress;
use super::{CliError, OnOff};
use crate::export::{ExportFormat, ExportRow, write_export};
use crate::geo::geocells::Granularity;
use crate::geo::latlon::LatLonDeg;
use crate::model::config::ModelConfig;

/// One point per photo for other tools: its own camera GPS, else the location its XMP sidecar
/// holds, else the model's best guess, with probability and certainty. Files or folders.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportOptions {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "geojson")]
    pub format: ExportFormat,
    /// Cell granularity for the most likely place and the credible region.
    #[arg(long = "level", value_enum, default_value = "middle")]
    pub granularity: Granularity,
    /// Weigh answers by the photos' clocks (as `predict`).
    #[arg(long, value_enum, default_value = "on")]
    pub clock_prior: OnOff,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// The row of one photo: its own camera GPS ("camera"), else the position its sidecar holds
/// ("set"), else its best guess ("predicted").
fn row_of(photo: &std::path::Path, report: &PhotoReport) -> Option<ExportRow> {
    let name = photo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| report.path.clone());
    let top = report.places.first().map(|p| &p.place);
    let sidecar = || crate::sidecar::sidecar_position(photo);
    let position = match (report.exif.gps, sidecar()) {
        (Some(at), _) => (at, "camera", "the photo's own GPS (EXIF)".to_string()),
        (None, Some((at, sidecar))) => (at, "set", format!("from {}", sidecar.display())),
        (None, None) => {
            let g = report.best_guess?;
            let at = LatLonDeg {
                lat_deg: g.lat_deg,
                lon_deg: g.lon_deg,
            };
            let note = top.map(|p| p.place_name.clone()).unwrap_or_default();
            (at, "predicted", note)
        }
    };
    Some(ExportRow::new(
        (name, Some(photo)),
        position,
        top,
        &report.credible_regions,
        report.localizability,
    ))
}

/// Runs the export; returns how many photos could not be geolocated (listed on stderr).
pub fn export(options: &ExportOptions, model: &ModelConfig) -> Result<usize, CliError> {
    let photos = collect_photos(&options.paths)?;
    let inputs: Vec<&std::path::Path> = photos.iter().map(PathBuf::as_path).collect();
    crate::files::check_report_output(&options.out, options.force, &inputs, false)?;
    let predictor = load_predictor(model)?;
    let mut bar = Progress::new(photos.len(), 3);
    let mut rows = Vec::new();
    let mut failed = 0;
    run_photos(&predictor, &photos, |i, outcome| {
        let photo = outcome.path.clone();
        let report = PhotoReport::new(outcome, options.granularity, 1, options.clock_prior.is_on());
        match (&report.error, row_of(&photo, &report)) {
            (None, Some(row)) => rows.push(row),
            (error, _) => {
                failed += 1;
                let why = error.clone().unwrap_or_else(|| "no answer".into());
                bar.println(&format!("geolens: error: {}", super::printable(&why)));
            }
        }
        bar.update(i as u64 + 1, photos.len() as u64, &report.path);
    });
    drop(bar);
    crate::files::write_output(&options.out, options.force, |out| {
        write_export(&rows, options.format, out)
    })?;
    eprintln!(
        "geolens: exported {} photos to {}",
        rows.len(),
        options.out.display()
    );
    Ok(failed)
}
