//! Command-line commands. Each returns a library error; `main` turns it into one line and a
//! non-zero exit.

pub mod aerial;
pub mod cells;
pub mod eval;
pub mod models;
pub mod photos;
pub mod predict;
pub mod progress;

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Fetch(#[from] crate::model::fetch::FetchError),
    #[error(transparent)]
    Backend(#[from] crate::model::backend::BackendError),
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error(transparent)]
    Aerial(#[from] crate::aerial::AerialError),
    #[error(transparent)]
    Output(#[from] crate::files::OutputError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }
}
