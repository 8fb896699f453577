//! `geolens match PHOTO`: aerial tiles around the most likely places, ranked against the photo;
//! `geolens match-eval PAIRS.csv`: a two-tower scorer's average precision on labelled pairs.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use image::RgbImage;

use super::CliError;
use super::photos::load_predictor;
use crate::aerial::candidates::CandidateOptions;
use crate::aerial::eval::{PairReport, evaluate, read_pairs, write_histogram_png};
use crate::aerial::rank::{RankedTile, rank_tiles};
use crate::aerial::source::{candidates_from, fetch_tiles, parallelism};
use crate::aerial::towers::{ClipTowers, ColourTowers, TwoTower};
use crate::aerial::{AerialError, TileId};
use crate::model::backend::BackendChoice;
use crate::photo::decode::decode_photo;

pub use crate::aerial::{TileChoice, TowerKind as TowerChoice};

#[derive(Debug, Clone)]
pub struct MatchOptions {
    pub photo: PathBuf,
    pub tiles: TileChoice,
    pub candidates: CandidateOptions,
    pub prior_weight: f64,
    pub towers: TowerChoice,
    pub json: bool,
    pub model_dir: Option<PathBuf>,
    pub backend: BackendChoice,
}

#[derive(serde::Serialize)]
struct MatchJson {
    photo: String,
    towers: String,
    source: String,
    attribution: String,
    ranked: Vec<RankedJson>,
    failed: Vec<String>,
}

/// One ranked tile with its centre, for people and scripts.
#[derive(serde::Serialize)]
struct RankedJson {
    rank: usize,
    #[serde(flatten)]
    tile: RankedTile,
    lat_deg: f64,
    lon_deg: f64,
}

/// Ranks the tiles around the photo's most likely places. Returns how many tiles could not be
/// had (each reported on stderr); none at all is an error.
pub fn match_photo(options: &MatchOptions, out: &mut dyn Write) -> Result<usize, CliError> {
    options.candidates.validate()?;
    if !(0.0..=4.0).contains(&options.prior_weight) {
        return Err(CliError::Usage(
            "--prior-weight must be between 0 and 4".into(),
        ));
    }
    let photo = decode_photo(&options.photo).map_err(|e| CliError::Usage(e.to_string()))?;
    let source = options.tiles.open()?;
    let predictor = load_predictor(options.model_dir.as_deref(), options.backend)?;
    let (prediction, _) = predictor.predict_photo_guarded(&photo)?;
    let candidates = candidates_from(source.as_ref(), &prediction, &options.candidates)?;
    let tiles: Vec<TileId> = candidates.iter().map(|c| c.tile).collect();
    let fetched: Mutex<Vec<Option<Result<RgbImage, AerialError>>>> =
        Mutex::new((0..tiles.len()).map(|_| None).collect());
    fetch_tiles(
        source.as_ref(),
        &tiles,
        parallelism(source.as_ref()),
        &|i, r| {
            if let Ok(mut f) = fetched.lock() {
                f[i] = Some(r);
            }
        },
        &|| false,
    );
    let fetched = fetched.into_inner().unwrap_or_default();
    let mut failed = Vec::new();
    let mut usable = Vec::new();
    for (candidate, result) in candidates.iter().zip(&fetched) {
        match result {
            Some(Ok(image)) => usable.push((*candidate, image)),
            Some(Err(e)) => failed.push(e.to_string()),
            None => failed.push(format!("tile {}: not fetched", candidate.tile)),
        }
    }
    for line in &failed {
        eprintln!("geolens: {line}");
    }
    if usable.is_empty() {
        return Err(CliError::Usage(format!(
            "none of the {} tiles could be had from {}",
            tiles.len(),
            source.name()
        )));
    }
    let clip;
    let towers: &dyn TwoTower = match options.towers {
        TowerChoice::Clip => {
            clip = ClipTowers::new(&predictor);
            &clip
        }
        TowerChoice::Colour => &ColourTowers,
    };
    let ranked = rank_tiles(towers, &photo, &usable, options.prior_weight)?;
    let write_err = CliError::io("standard output");
    if options.json {
        let json = MatchJson {
            photo: options.photo.display().to_string(),
            towers: towers.describe(),
            source: source.name(),
            attribution: source.attribution(),
            ranked: ranked
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let c = r.tile().center();
                    RankedJson {
                        rank: i + 1,
                        tile: *r,
                        lat_deg: c.lat_deg,
                        lon_deg: c.lon_deg,
                    }
                })
                .collect(),
            failed: failed.clone(),
        };
        let text =
            serde_json::to_string_pretty(&json).map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(write_err)?;
    } else {
        let mut text = format!(
            "{}\ntowers: {}\ntiles:  {} ({})\n{:>4}  {:<18} {:>10} {:>10} {:>8} {:>6}  {:>5}\n",
            options.photo.display(),
            towers.describe(),
            source.name(),
            source.attribution(),
            "rank",
            "tile",
            "lat",
            "lon",
            "distance",
            "prior",
            "score"
        );
        for (i, r) in ranked.iter().enumerate() {
            let c = r.tile().center();
            text.push_str(&format!(
                "{:>4}  {:<18} {:>10.5} {:>10.5} {:>8.3} {:>5.1}%  {:>5.3}\n",
                i + 1,
                r.tile().to_string(),
                c.lat_deg,
                c.lon_deg,
                r.distance,
                r.candidate.prior * 100.0,
                r.score
            ));
        }
        write!(out, "{text}").map_err(write_err)?;
    }
    Ok(failed.len())
}

#[derive(Debug, Clone)]
pub struct MatchEvalOptions {
    pub pairs: PathBuf,
    /// Folder the pairs' paths are relative to (default: the CSV's folder).
    pub images: Option<PathBuf>,
    pub histogram: Option<PathBuf>,
    pub force: bool,
    pub towers: TowerChoice,
    pub model_dir: Option<PathBuf>,
    pub backend: BackendChoice,
}

/// Measures the towers on labelled pairs; writes the histogram PNG when asked.
pub fn match_eval(options: &MatchEvalOptions) -> Result<PairReport, CliError> {
    if let Some(png) = &options.histogram
        && png.exists()
        && !options.force
    {
        return Err(CliError::Usage(format!(
            "{} exists; pass --force to overwrite it",
            png.display()
        )));
    }
    let images = match &options.images {
        Some(dir) => dir.clone(),
        None => options
            .pairs
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let pairs = read_pairs(&options.pairs, &images)?;
    let report = match options.towers {
        TowerChoice::Colour => evaluate(&ColourTowers, &pairs)?,
        TowerChoice::Clip => {
            let predictor = load_predictor(options.model_dir.as_deref(), options.backend)?;
            evaluate(&ClipTowers::new(&predictor), &pairs)?
        }
    };
    for line in &report.failed {
        eprintln!("geolens: {line}");
    }
    if let Some(png) = &options.histogram {
        let title = match report.average_precision {
            Some(ap) => format!("AP {:.1}%", ap * 100.0),
            None => "NO POSITIVE PAIRS".into(),
        };
        write_histogram_png(&report.histogram, &title, png, options.force)?;
    }
    Ok(report)
}
