//! Benchmark and game photos fetched on request: a reproducible, spread sample of a public
//! dataset's test set (OpenStreetView-5M), read out of its remote zip files with HTTP range
//! requests, so a few hundred photos cost seconds to minutes, not gigabytes.

pub mod http;
pub mod osv5m;
pub mod remote_zip;
pub mod sample;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DatasetError {
    #[error("could not download {url}: {message}")]
    Network { url: String, message: String },
    #[error("{url}: the server answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error(
        "{url}: the server does not answer HTTP range requests, which reading single photos out of its zip files needs"
    )]
    NoRanges { url: String },
    #[error("{url}: {message}")]
    BadZip { url: String, message: String },
    #[error("{what}: {message}")]
    BadCsv { what: String, message: String },
    #[error(transparent)]
    Output(#[from] crate::files::OutputError),
    #[error("{path}: {message}")]
    Write { path: String, message: String },
}
