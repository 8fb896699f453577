//! geolens: tells where a photo was taken.
//!
//! The pipeline reads top to bottom: `photo` (decode, EXIF and XMP, CLIP preprocessing) ->
//! `model` (the [`ModelConfig`](model::config::ModelConfig) and model files, CLIP's vision
//! tower, GeoCLIP's heads and gallery) -> `predict` (one [`Predictor`](predict::Predictor)
//! call: cell probabilities, places, credible regions, the camera clock) -> `map` (basemap,
//! heatmap and pins as walkers layers) | `aerial` (ground-to-aerial ranking) | `game` (decks,
//! rounds, points) | `eval` and `export`. `geo` and `scores` hold the geometry and the
//! per-cell numbers every stage shares. `cli` is the command line (one file per command) and
//! `app` the desktop GUI; both only call the library.

pub mod aerial;
pub mod app;
pub mod cli;
pub mod datasets;
pub mod eval;
pub mod export;
pub mod files;
pub mod game;
pub mod geo;
pub mod library;
pub mod map;
pub mod model;
pub mod net;
pub mod paths;
pub mod photo;
pub mod predict;
pub mod scores;
pub mod shipped;
pub mod sidecar;
#[doc(hidden)]
pub mod testing;

/// Sent with every HTTP request geolens makes (tiles, weights), as the OSM tile usage policy asks.
pub const USER_AGENT: &str = concat!(
    "geolens/",
    env!("CARGO_PKG_VERSION"),
    " (offline-first photo geolocation desktop app)"
);
