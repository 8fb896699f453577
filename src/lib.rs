//! geolens: tells where a photo was taken.
//!
//! The pipeline reads top to bottom: `geo` (sphere and map geometry, S2 partitions, place
//! names) -> `scores` (probabilities per cell) -> `map` (basemap, online layers, heatmap layer)
//! -> `app` (the desktop GUI). `cli` is the command-line face of the same library.

pub mod aerial;
pub mod app;
pub mod cli;
pub mod datasets;
pub mod eval;
pub mod export;
pub mod files;
pub mod game;
pub mod geo;
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
pub mod worker;

/// Sent with every HTTP request geolens makes (tiles, weights), as the OSM tile usage policy asks.
pub const USER_AGENT: &str = concat!(
    "geolens/",
    env!("CARGO_PKG_VERSION"),
    " (offline-first photo geolocation desktop app)"
);
