//! Geometry and geography without any GUI: Web Mercator maths, great-circle distance, S2 cell
//! polygons, PlaNet's adaptive partition and the named geocells built from it.

pub mod cell_polygon;
pub mod distance;
pub mod geocells;
pub mod latlon;
pub mod mercator;
pub mod partition;
pub mod place_names;
pub mod region_outline;

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GeoError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] crate::files::OutputError),
    #[error("row {row}: {message}")]
    BadRow { row: usize, message: String },
    #[error("no points in the input")]
    NoPoints,
    #[error("t_min ({t_min}) must be at most t_max ({t_max}), and t_max above 0")]
    BadThresholds { t_min: u32, t_max: u32 },
}
