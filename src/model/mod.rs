//! The geolocation model (GeoCLIP) in burn: architectures, weight loading and backend choice,
//! each in its own file. Knows nothing about the GUI.

pub mod backend;
pub mod clip;
pub mod config;
pub mod device_io;
pub mod dirs;
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
    /// A tensor would be larger than the device lets one buffer be.
    #[error(
        "{what} needs {needed_bytes} bytes in one buffer, over this device's limit of \
         {limit_bytes} bytes (its largest storage-buffer binding)"
    )]
    DeviceLimit {
        what: String,
        needed_bytes: u64,
        limit_bytes: u64,
    },
    #[error("the device ran out of memory: {0}")]
    OutOfMemory(String),
    #[error("the GPU device was lost and cannot be used again until geolens restarts: {0}")]
    DeviceLost(String),
    #[error("the device failed: {0}")]
    Device(String),
    /// The model computed NaN or infinity: its weights are damaged.
    #[error("the model's output is not a number (NaN or infinite): {0}")]
    NonFinite(String),
}
