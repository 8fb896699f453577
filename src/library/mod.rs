//! Where a library's photos without a position were taken, from the library's own clues first:
//! a track the user recorded, the photos taken just before and after, and the camera clocks
//! that make their times comparable. Reads photos, never writes them.
//!
//! [`scan`] reads each photo's time, camera and position (EXIF GPS, the photo's own XMP packet,
//! its XMP sidecar); [`track`] reads GPX, KML and GeoJSON tracks; [`clocks`] puts every photo's
//! time on one clock (UTC); [`propose`] turns the clues into a proposal per photo, each saying
//! where, how sure (a radius in metres), from what and why.

pub mod clocks;
pub mod propose;
pub mod scan;
pub mod track;

use std::path::PathBuf;

use thiserror::Error;

pub use clocks::{CameraClock, ClockFoundBy, Clocks, parse_clock_offset};
pub use propose::{Proposal, ProposalSource, ProposeSettings, propose};
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
