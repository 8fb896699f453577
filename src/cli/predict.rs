//! `geolens predict PATH...`: where each photo was likely taken, as a table, JSON or CSV.
//! Photos that fail are reported one line each on stderr and the run continues.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use clap::builder::RangedU64ValueParser;

use super::photos::{PhotoOutcome, collect_photos, load_predictor, run_photos};
use super::progress::Progress;
use super::{CliError, OnOff};
use crate::geo::distance::haversine_km;
use crate::geo::geocells::Granularity;
use crate::model::config::ModelConfig;
use crate::photo::exif::PhotoFacts;
use crate::predict::{CREDIBLE_MASSES, ClockClue, CredibleRegion, PlaceGuess, PointGuess};
use crate::sidecar::{self, SidecarNaming, Written};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// Where was each photo taken? Files or folders (searched recursively). Exit code 2 when
/// some photos could not be read (each reported on stderr; the others still printed).
#[derive(Debug, Clone, clap::Args)]
pub struct PredictOptions {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How many places to list per photo.
    #[arg(long, default_value_t = 5, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1000))]
    pub top: usize,
    /// Cell granularity of the listed places.
    #[arg(long = "level", value_enum, default_value = "middle")]
    pub granularity: Granularity,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Weigh the answer by the photo's own clock: gallery points outside the time zones
    /// that kept its EXIF UTC offset on its capture date count for a twentieth.
    #[arg(long, value_enum, default_value = "on")]
    pub clock_prior: OnOff,
    #[command(flatten)]
    pub xmp: XmpOptions,
}

/// How `--write-xmp` writes sidecars.
#[derive(Debug, Clone, Copy, PartialEq, clap::Args)]
pub struct XmpOptions {
    /// Keep each best guess in an XMP sidecar beside its photo (exif:GPSLatitude and
    /// exif:GPSLongitude, with a note of where it came from); the photo is never changed.
    #[arg(long)]
    pub write_xmp: bool,
    /// With --write-xmp: only photos whose most likely place holds at least this
    /// probability (0 to 1).
    #[arg(long, value_name = "P", requires = "write_xmp", value_parser = super::probability)]
    pub min_confidence: Option<f64>,
    /// With --write-xmp: replace a position a sidecar already has (never done otherwise).
    #[arg(long, requires = "write_xmp")]
    pub replace_gps: bool,
    /// With --write-xmp: how sidecars are named, as your photo organiser expects
    /// (digikam: IMG_1.xmp, also Lightroom; darktable: IMG_1.JPG.xmp).
    #[arg(
        long = "xmp-naming",
        value_enum,
        default_value = "digikam",
        requires = "write_xmp"
    )]
    pub naming: SidecarNaming,
}

/// Writes the sidecar of one reported photo: its best guess, with where it came from. `Err`
/// says why it was not written.
fn write_sidecar(photo: &Path, report: &PhotoReport, xmp: &XmpOptions) -> Result<String, String> {
    let name = super::printable(&photo.display().to_string());
    if report.exif.gps.is_some() {
        return Err(format!(
            "{name}: has its own GPS position (EXIF); its sidecar is left as it is"
        ));
    }
    let (Some(guess), Some(top)) = (report.best_guess, report.places.first()) else {
        return Err(format!("{name}: no answer to write"));
    };
    let confidence = top.place.probability;
    if let Some(min) = xmp.min_confidence
        && confidence < min
    {
        return Err(format!(
            "{name}: its most likely place holds {}, below --min-confidence {}",
            pct(confidence),
            pct(min)
        ));
    }
    let source = format!(
        "geolens {}: best guess; most likely place {} ({})",
        env!("CARGO_PKG_VERSION"),
        top.place.place_name,
        pct(confidence)
    );
    let at = crate::geo::latlon::LatLonDeg {
        lat_deg: guess.lat_deg,
        lon_deg: guess.lon_deg,
    };
    match sidecar::write_position(photo, xmp.naming, at, &source, xmp.replace_gps) {
        Ok(Written::Created(p)) => Ok(format!("wrote {}", p.display())),
        Ok(Written::Updated(p)) => Ok(format!("updated {}", p.display())),
        Err(e) => Err(super::printable(&e.to_string())),
    }
}

/// One photo in the machine-readable outputs.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoReport {
    pub path: String,
    /// Why the photo could not be geolocated; everything else is empty then.
    pub error: Option<String>,
    pub exif: PhotoFacts,
    pub best_guess: Option<PointGuess>,
    /// Great-circle distance from the EXIF position to the best guess.
    pub exif_distance_km: Option<f64>,
    pub places: Vec<RankedPlace>,
    /// The 50 % and 90 % credible regions at the report's granularity.
    pub credible_regions: Vec<CredibleRegion>,
    /// How peaked the answer is: 0 (spread evenly over the gallery) to 1 (one point).
    pub localizability: Option<f64>,
    /// What the photo's clock said (EXIF UTC offset and capture time), when it has one.
    pub clock: Option<ClockClue>,
    /// Why the photo's clock could not be used, when it could not.
    pub clock_note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankedPlace {
    pub rank: usize,
    #[serde(flatten)]
    pub place: PlaceGuess,
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    granularity: &'static str,
    top: usize,
    photos: &'a [PhotoReport],
}

impl PhotoReport {
    /// The report of one photo; with `clock_prior`, its answer weighed by its own clock.
    pub fn new(
        outcome: PhotoOutcome,
        granularity: Granularity,
        top: usize,
        clock_prior: bool,
    ) -> Self {
        let path = crate::files::path_text(&outcome.path);
        match outcome.result {
            Ok(plain) => {
                let (prediction, clock, clock_note) =
                    with_clock(plain, &outcome.facts, clock_prior);
                let best_guess = prediction.best_guess();
                let exif_distance_km = outcome.facts.gps.zip(best_guess).map(|(gps, guess)| {
                    haversine_km(gps.lat_deg, gps.lon_deg, guess.lat_deg, guess.lon_deg)
                });
                let places = prediction
                    .top_places(granularity, top)
                    .into_iter()
                    .enumerate()
                    .map(|(i, place)| RankedPlace { rank: i + 1, place })
                    .collect();
                Self {
                    path,
                    error: None,
                    exif: outcome.facts,
                    best_guess,
                    exif_distance_km,
                    places,
                    credible_regions: prediction.credible_regions(granularity, &CREDIBLE_MASSES),
                    localizability: Some(prediction.localizability()),
                    clock,
                    clock_note,
                }
            }
            Err(error) => Self {
                path,
                error: Some(error),
                exif: outcome.facts,
                best_guess: None,
                exif_distance_km: None,
                places: Vec::new(),
                credible_regions: Vec::new(),
                localizability: None,
                clock: None,
                clock_note: None,
            },
        }
    }
}

/// The answer to report (weighed by the photo's clock when asked and possible), what the clock
/// said, and why it could not be used.
fn with_clock(
    plain: crate::predict::Prediction,
    facts: &PhotoFacts,
    clock_prior: bool,
) -> (
    crate::predict::Prediction,
    Option<ClockClue>,
    Option<String>,
) {
    match plain.clock_answer(facts) {
        Ok(Some(answer)) if clock_prior => {
            let clue = ClockClue {
                applied: true,
                ..answer.clue
            };
            (answer.prediction, Some(clue), None)
        }
        Ok(Some(answer)) => (plain, Some(answer.clue), None),
        Ok(None) => (plain, None, None),
        Err(note) => (plain, None, Some(note.to_string())),
    }
}

/// The clock's line in the table.
fn clock_line(clue: &ClockClue) -> String {
    let zones = match clue.matching_zones.len() {
        0 => "no time zone kept that offset".to_string(),
        1 => format!("kept by {}", clue.matching_zones[0]),
        n => format!("kept by {n} time zones"),
    };
    let applied = if clue.applied {
        "prior applied"
    } else {
        "prior off"
    };
    let gps = match clue.agrees_with_gps {
        Some(true) => "; agrees with the photo's GPS",
        Some(false) => "; DISAGREES with the photo's GPS (clock not set to local time?)",
        None => "",
    };
    format!(
        "camera clock: {} ({zones}; {} of the model's own probability there; {applied}){gps}",
        clue.clock,
        pct(clue.mass_in_zones)
    )
}

fn pct(p: f64) -> String {
    crate::scores::percent(p)
}

/// The human-readable block for one photo.
pub fn table_block(report: &PhotoReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}", super::printable(&report.path))?;
    if let Some(error) = &report.error {
        return writeln!(out, "  error: {}", super::printable(error));
    }
    let mut exif = Vec::new();
    if let Some(g) = report.exif.gps {
        exif.push(format!("GPS {:.5}, {:.5}", g.lat_deg, g.lon_deg));
    }
    if let Some(t) = &report.exif.taken_at {
        exif.push(format!("taken {t}"));
    }
    if let Some(c) = &report.exif.camera {
        exif.push(c.clone());
    }
    if !exif.is_empty() {
        writeln!(out, "  EXIF: {}", super::printable(&exif.join(" · ")))?;
    }
    if let Some(g) = report.best_guess {
        let distance = report
            .exif_distance_km
            .map(|d| format!(", {d:.1} km from the EXIF position"))
            .unwrap_or_default();
        writeln!(
            out,
            "  best guess: {:.5}, {:.5} (gallery point, p {:.4}){distance}",
            g.lat_deg, g.lon_deg, g.probability
        )?;
    }
    if let Some(clue) = &report.clock {
        writeln!(out, "  {}", clock_line(clue))?;
    }
    if let Some(note) = &report.clock_note {
        writeln!(out, "  note: {}", super::printable(note))?;
    }
    for region in &report.credible_regions {
        writeln!(out, "  {}", super::printable(&region.describe()))?;
    }
    if let Some(l) = report.localizability {
        writeln!(
            out,
            "  localizability {l:.3} (0 spread evenly, 1 one point)"
        )?;
    }
    let name_width = report
        .places
        .iter()
        .map(|p| p.place.place_name.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        out,
        "  {:>3}  {:>6}  {:<name_width$}  centre",
        "#", "prob", "place"
    )?;
    for p in &report.places {
        writeln!(
            out,
            "  {:>3}  {:>6}  {:<name_width$}  {:.4}, {:.4}",
            p.rank,
            pct(p.place.probability),
            p.place.place_name,
            p.place.center.lat_deg,
            p.place.center.lon_deg
        )?;
    }
    Ok(())
}

const CSV_HEADER: [&str; 23] = [
    "path",
    "rank",
    "probability",
    "place_name",
    "token",
    "cell_level",
    "center_lat_deg",
    "center_lon_deg",
    "best_lat_deg",
    "best_lon_deg",
    "exif_lat_deg",
    "exif_lon_deg",
    "exif_distance_km",
    "localizability",
    "region50_cells",
    "region50_area_km2",
    "region50_places",
    "region90_cells",
    "region90_area_km2",
    "region90_places",
    "camera_clock",
    "clock_prior",
    "error",
];

fn csv_rows(report: &PhotoReport) -> Vec<Vec<String>> {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let shared = |rank: String, place: Option<&PlaceGuess>| -> Vec<String> {
        vec![
            report.path.clone(),
            rank,
            place.map(|p| p.probability.to_string()).unwrap_or_default(),
            place.map(|p| p.place_name.clone()).unwrap_or_default(),
            place.map(|p| p.token.clone()).unwrap_or_default(),
            place.map(|p| p.cell_level.to_string()).unwrap_or_default(),
            opt(place.map(|p| p.center.lat_deg)),
            opt(place.map(|p| p.center.lon_deg)),
            opt(report.best_guess.map(|g| g.lat_deg)),
            opt(report.best_guess.map(|g| g.lon_deg)),
            opt(report.exif.gps.map(|g| g.lat_deg)),
            opt(report.exif.gps.map(|g| g.lon_deg)),
            opt(report.exif_distance_km),
            opt(report.localizability),
        ]
        .into_iter()
        .chain(
            CREDIBLE_MASSES
                .iter()
                .flat_map(|&mass| region_fields(report, mass)),
        )
        .chain([
            report
                .clock
                .as_ref()
                .map(|c| c.clock.clone())
                .unwrap_or_default(),
            match &report.clock {
                Some(c) if c.applied => "applied".into(),
                Some(_) => "off".into(),
                None => String::new(),
            },
            report.error.clone().unwrap_or_default(),
        ])
        .collect()
    };
    if report.places.is_empty() {
        return vec![shared(String::new(), None)];
    }
    report
        .places
        .iter()
        .map(|p| shared(p.rank.to_string(), Some(&p.place)))
        .collect()
}

/// A credible region's cells, area and countries (`;`-separated) as CSV fields; empty fields
/// for a photo without one.
fn region_fields(report: &PhotoReport, mass: f64) -> [String; 3] {
    match report.credible_regions.iter().find(|r| r.mass == mass) {
        Some(r) => [
            r.cells.to_string(),
            format!("{:.0}", r.area_km2),
            r.places.join(";"),
        ],
        None => Default::default(),
    }
}

/// Writes reports as they come: a table block per photo, CSV rows (one per photo and place;
/// one row with `error` set for a failed photo), or, at the end, one JSON document.
pub struct ReportWriter<'a, W: Write> {
    granularity: Granularity,
    top: usize,
    table: Option<&'a mut W>,
    csv: Option<csv::Writer<&'a mut W>>,
    json: Option<(&'a mut W, Vec<PhotoReport>)>,
    written: usize,
}

impl<'a, W: Write> ReportWriter<'a, W> {
    pub fn new(format: OutputFormat, granularity: Granularity, top: usize, out: &'a mut W) -> Self {
        let mut writer = Self {
            granularity,
            top,
            table: None,
            csv: None,
            json: None,
            written: 0,
        };
        match format {
            OutputFormat::Table => writer.table = Some(out),
            OutputFormat::Csv => writer.csv = Some(csv::Writer::from_writer(out)),
            OutputFormat::Json => writer.json = Some((out, Vec::new())),
        }
        writer
    }

    pub fn write(&mut self, report: PhotoReport) -> std::io::Result<()> {
        if let Some(out) = &mut self.table {
            if self.written > 0 {
                writeln!(out)?;
            }
            table_block(&report, out)?;
            out.flush()?;
        } else if let Some(w) = &mut self.csv {
            if self.written == 0 {
                w.write_record(CSV_HEADER)?;
            }
            for row in csv_rows(&report) {
                w.write_record(&row)?;
            }
            w.flush()?;
        } else if let Some((_, reports)) = &mut self.json {
            reports.push(report);
        }
        self.written += 1;
        Ok(())
    }

    pub fn finish(self) -> std::io::Result<()> {
        if let Some((out, reports)) = self.json {
            let doc = JsonOutput {
                granularity: self.granularity.label(),
                top: self.top,
                photos: &reports,
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Runs `geolens predict`. Returns how many photos failed (reported on stderr, one line
/// each); the reports of all photos go to `out`, each as soon as it is ready.
pub fn predict(
    options: &PredictOptions,
    model: &ModelConfig,
    out: &mut impl Write,
) -> Result<usize, CliError> {
    let photos = collect_photos(&options.paths)?;
    let predictor = load_predictor(model)?;
    let xmp = options.xmp.write_xmp.then_some(&options.xmp);
    let stdout_path = Path::new("standard output");
    let mut bar = Progress::new(photos.len(), 3);
    let mut writer = ReportWriter::new(options.format, options.granularity, options.top, out);
    let mut failed = 0;
    let mut write_error = None;
    let (mut sidecars_written, mut sidecars_skipped) = (0, 0);
    run_photos(&predictor, &photos, |i, outcome| {
        let photo_path = outcome.path.clone();
        if outcome.path.to_str().is_none() {
            bar.println(&format!(
                "geolens: note: {} is not valid UTF-8: its name is written with U+FFFD in \
                 place of the bytes that are not",
                super::printable(&outcome.path.to_string_lossy())
            ));
        }
        let report = PhotoReport::new(
            outcome,
            options.granularity,
            options.top,
            options.clock_prior.is_on(),
        );
        if let Some(e) = &report.error {
            failed += 1;
            bar.println(&format!("geolens: error: {}", super::printable(e)));
        } else if let Some(xmp) = xmp {
            match write_sidecar(&photo_path, &report, xmp) {
                Ok(what) => {
                    sidecars_written += 1;
                    bar.println(&format!("geolens: {what}"));
                }
                Err(why) => {
                    sidecars_skipped += 1;
                    bar.println(&format!("geolens: sidecar skipped: {why}"));
                }
            }
        }
        bar.update(i as u64 + 1, photos.len() as u64, &report.path);
        if write_error.is_none()
            && let Err(e) = writer.write(report)
        {
            write_error = Some(e);
        }
    });
    drop(bar);
    if xmp.is_some() {
        eprintln!(
            "geolens: XMP sidecars: {sidecars_written} written, {sidecars_skipped} skipped \
             (the photos themselves are never changed)"
        );
    }
    if let Some(e) = write_error {
        return Err(CliError::io(stdout_path)(e));
    }
    writer.finish().map_err(CliError::io(stdout_path))?;
    Ok(failed)
}
