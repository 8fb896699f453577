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
