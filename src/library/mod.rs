//! Where a library's photos without a position were taken, from the library's own clues first:
//! a track the user recorded, the photos taken just before and after, and the camera clocks
//! that make their times comparable. Reads photos, never writes them.
//!
//! [`scan`] reads each photo's time, camera and position (EXIF GPS, the photo's own XMP packet,
//! its XMP sidecar); [`track`] reads GPX, KML and GeoJSON tracks; [`clocks`] puts every photo's
//! time on one clock (UTC); [`propose`] turns the metadata's clues into a proposal per photo,
//! each saying where, how sure (a radius in metres), from what and why. Where a model is
//! installed, [`embeddings`] computes (and keeps) the photos' CLIP embeddings, [`lookalikes`]
//! finds the photos that are nearly the same picture and the camera clock offsets they imply,
//! and [`run`] goes through the clues in order, GeoCLIP's answer last. [`apply`] keeps chosen
//! proposals in sidecars and takes the last lot back.

pub mod apply;
pub mod clocks;
pub mod embeddings;
pub mod lookalikes;
pub mod propose;
pub mod run;
pub mod scan;
pub mod track;

use std::path::PathBuf;

use thiserror::Error;

pub use clocks::{CameraClock, ClockFoundBy, Clocks, parse_clock_offset};
pub use lookalikes::LookalikeSettings;
pub use propose::{Proposal, ProposalSource, ProposeSettings, propose};
pub use run::{LibraryAnswer, PictureClues, geotag_library};
pub use scan::{LibraryPhoto, PositionFrom, scan};
pub use track::{Track, TrackPoint, read_track};

#[derive(Debug, Error)]
pub enum LibraryError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a track geolens reads: {message}", path.display())]
    BadTrack { path: PathBuf, message: String },
    #[error("--clock-offset {given:?}: {message}")]
    BadClockOffset { given: String, message: String },
}
