//! Ground-to-aerial matching (Where-CNN, Lin et al. 2015): aerial tiles around the most likely
//! places are ranked against the photo by a two-tower net.
//!
//! The stage reads top to bottom: [`candidates`] (which tiles, from a [`Prediction`]) ->
//! [`source`] (their pixels: a folder of tiles, or the opt-in online layer) -> [`towers`] (the
//! two-tower scorer) -> [`rank`] (appearance and geolocation prior combined) ; [`eval`] measures
//! a scorer on labelled (photo, tile) pairs.
//!
//! [`Prediction`]: crate::predict::Prediction

pub mod candidates;
pub mod eval;
pub mod rank;
pub mod source;
pub mod towers;

use std::path::PathBuf;

use thiserror::Error;

pub use candidates::{Candidate, CandidateOptions, TileId};

use source::{OnlineTiles, TileFolder, TileSource};

#[derive(Debug, Error)]
pub enum AerialError {
    /// One tile could not be had; the others go on.
    #[error("tile {tile}: {message}")]
    Tile { tile: TileId, message: String },
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("the tower failed: {0}")]
    Tower(String),
    #[error("{0}")]
    Invalid(String),
}

/// Which towers score photo against tile.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
pub enum TowerKind {
    /// CLIP's image tower on both sides (the model's own tower).
    #[default]
    Clip,
    /// Colour histograms: a baseline that needs no weights (and the scorer tests use).
    Colour,
}

/// Where the tiles come from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TileChoice {
    /// A folder of `ZOOM/X/Y.jpg` tiles.
    Folder(PathBuf),
    /// ESRI World Imagery (`url: None`) or another `{z}/{x}/{y}` URL; opt-in. Tiles are
    /// cached in `cache_dir`, by default a folder of the user cache for each server.
    Online {
        url: Option<String>,
        cache_dir: Option<PathBuf>,
    },
}

impl TileChoice {
    pub fn open(&self) -> Result<Box<dyn TileSource>, AerialError> {
        Ok(match self {
            Self::Folder(dir) => Box::new(TileFolder::open(dir)?),
            Self::Online { url, cache_dir } => {
                let (name, url, attribution, default_cache) = match url {
                    None => (
                        "ESRI World Imagery (online)".to_string(),
                        source::ESRI_WORLD_IMAGERY_URL.to_string(),
                        source::ESRI_ATTRIBUTION.to_string(),
                        "esri-world-imagery".to_string(),
                    ),
                    Some(url) => {
                        use sha2::Digest;
                        let digest = sha2::Sha256::digest(url.as_bytes());
                        let short: String =
                            digest[..6].iter().map(|b| format!("{b:02x}")).collect();
                        (
                            "online tiles".to_string(),
                            url.clone(),
                            format!("Tiles from {url}"),
                            format!("server-{short}"),
                        )
                    }
                };
                let cache = cache_dir.clone().or_else(|| {
                    crate::paths::user_cache_dir()
                        .map(|d| d.join("aerial-tiles").join(default_cache))
                });
                Box::new(OnlineTiles::new(name, url, attribution, cache))
            }
        })
    }
}

/// Everything one matching run needs besides the photo and its prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchSettings {
    pub tiles: TileChoice,
    pub candidates: CandidateOptions,
    /// See [`rank::combined_score`].
    pub prior_weight: f64,
    pub towers: TowerKind,
}
