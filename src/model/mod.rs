//! The geolocation model (GeoCLIP) in burn: architectures, weight loading and backend choice,
//! each in its own file. Knows nothing about the GUI.

pub mod backend;
pub mod clip;
pub mod fetch;
pub mod files;
pub mod geoclip;

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("weights not found at {}: {hint}", path.display())]
    MissingWeights { path: PathBuf, hint: String },
    #[error("could not read weights from {}: {message}", path.display())]
    BadWeights { path: PathBuf, message: String },
    #[error("could not write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error("tensor shape mismatch: {0}")]
    Shape(String),
}
