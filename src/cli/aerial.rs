//! `geolens match PHOTO`: aerial tiles around the most likely places, ranked against the photo;
//! `geolens match-eval PAIRS.csv`: a two-tower scorer's average precision on labelled pairs.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use image::RgbImage;

use super::photos::load_predictor;
use super::{CliError, Exit};
use crate::aerial::candidates::CandidateOptions;
use crate::aerial::eval::{PairReport, evaluate, read_pairs, write_histogram_png};
use crate::aerial::rank::{RankedTile, rank_tiles};
use crate::aerial::source::{candidates_from, fetch_tiles, parallelism};
use crate::aerial::towers::{ClipTowers, ColourTowers, TwoTower};
use crate::aerial::{AerialError, TileId};
use crate::model::config::ModelConfig;
use crate::photo::decode::decode_photo;

pub use crate::aerial::{TileChoice, TowerKind as TowerChoice};

/// Aerial tiles around the photo's most likely places, ranked against it (Where-CNN's
/// ground-to-aerial matching). Tiles from a folder (ZOOM/X/Y.jpg) or, opt-in, online.
/// Exit code 2 when some tiles could not be had.
#[derive(Debug, Clone, clap::Args)]
pub struct MatchOptions {
    pub photo: PathBuf,
    /// Folder of aerial tiles, ZOOM/X/Y.{jpg,png,webp} (zoom 16-18).
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "online",
        required_unless_present = "online"
    )]
    pub tiles: Option<PathBuf>,
    /// Fetch the tiles from ESRI World Imagery (cached on disk, two requests at a time).
    #[arg(long)]
    pub online: bool,
    /// Another tile server for --online, as a URL with {z}, {x} and {y}.
    #[arg(long, value_name = "URL", requires = "online")]
    pub tile_url: Option<String>,
    /// Tile zoom (16-18).
    #[arg(long, default_value_t = 17)]
    pub zoom: u8,
    /// How many of the most likely places to look around (1-10).
    #[arg(long, default_value_t = 3)]
    pub places: usize,
    /// Tiles on each side of a place's centre (1: a 3x3 grid; at most 4).
    #[arg(long, default_value_t = 1)]
    pub radius: u32,
    /// At most this many tiles in all (1-200).
    #[arg(long, default_value_t = 27)]
    pub max_tiles: usize,
    /// Weight of the geolocation prior against appearance (0: appearance only).
    #[arg(long, default_value_t = crate::aerial::rank::DEFAULT_PRIOR_WEIGHT)]
    pub prior_weight: f64,
    #[arg(long, value_enum, default_value = "clip")]
    pub towers: TowerChoice,
    #[arg(long)]
    pub json: bool,
}

impl MatchOptions {
    /// Where the tiles come from: `--tiles DIR` or `--online`.
    fn tile_choice(&self) -> Result<TileChoice, CliError> {
        match (&self.tiles, self.online) {
            (Some(dir), false) => Ok(TileChoice::Folder(dir.clone())),
            (None, true) => Ok(TileChoice::Online {
                url: self.tile_url.clone(),
                cache_dir: None,
            }),
            _ => Err(CliError::Usage(
                "give either --tiles DIR or --online".into(),
            )),
        }
    }

    fn candidates(&self) -> CandidateOptions {
        CandidateOptions {
            zoom: self.zoom,
            places: self.places,
            radius_tiles: self.radius,
            max_tiles: self.max_tiles,
            ..Default::default()
        }
    }
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
pub fn match_photo(
    options: &MatchOptions,
    model: &ModelConfig,
    out: &mut dyn Write,
) -> Result<usize, CliError> {
    let candidate_options = options.candidates();
    candidate_options.validate()?;
    if !(0.0..=4.0).contains(&options.prior_weight) {
        return Err(CliError::Usage(
            "--prior-weight must be between 0 and 4".into(),
        ));
    }
    let photo = decode_photo(&options.photo).map_err(|e| CliError::Usage(e.to_string()))?;
    let source = options.tile_choice()?.open()?;
    let predictor = load_predictor(model)?;
    let (prediction, _) = predictor.predict_photo_guarded(&photo)?;
    let candidates = candidates_from(source.as_ref(), &prediction, &candidate_options)?;
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

/// A two-tower scorer on labelled (photo, aerial tile) pairs: average precision and the
/// distance distributions of positive and negative pairs. CSV columns: ground,aerial,same.
#[derive(Debug, Clone, clap::Args)]
pub struct MatchEvalOptions {
    pub pairs: PathBuf,
    /// Folder the CSV's paths are relative to (default: the CSV's folder).
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Also draw the two distance distributions into this PNG.
    #[arg(long, value_name = "PNG")]
    pub histogram: Option<PathBuf>,
    /// Overwrite an existing histogram file.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value = "clip")]
    pub towers: TowerChoice,
    #[arg(long)]
    pub json: bool,
}

/// Runs `geolens match-eval`: the report to `out` (as JSON with `--json`).
pub fn run_match_eval(
    options: &MatchEvalOptions,
    model: &ModelConfig,
    out: &mut dyn Write,
) -> Result<Exit, CliError> {
    let report = match_eval(options, model)?;
    let text = if options.json {
        serde_json::to_string_pretty(&report).map_err(std::io::Error::other)
    } else {
        Ok(report.to_string())
    };
    let text = text.map_err(CliError::io("standard output"))?;
    writeln!(out, "{text}").map_err(CliError::io("standard output"))?;
    Ok(Exit::failed(report.failed.len()))
}

/// Measures the towers on labelled pairs; writes the histogram PNG when asked.
pub fn match_eval(options: &MatchEvalOptions, model: &ModelConfig) -> Result<PairReport, CliError> {
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
            let predictor = load_predictor(model)?;
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
