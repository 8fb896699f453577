//! Command-line commands. Each returns a library error; `main` turns it into one line and a
//! non-zero exit.

pub mod aerial;
pub mod cells;
pub mod datasets;
pub mod eval;
pub mod export;
pub mod geotag;
pub mod gui;
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
    Load(#[from] crate::predict::LoadError),
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    #[error(transparent)]
    Aerial(#[from] crate::aerial::AerialError),
    #[error(transparent)]
    Output(#[from] crate::files::OutputError),
    #[error(transparent)]
    Geo(#[from] crate::geo::GeoError),
    #[error(transparent)]
    Dataset(#[from] crate::datasets::DatasetError),
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

/// Text from files (names, EXIF strings, error messages quoting them) made safe for a
/// terminal: control characters, escape sequences among them, are shown escaped (`\u{1b}`)
/// instead of being obeyed.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A switch given on the command line as `on` or `off` (`--clock-prior off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn is_on(self) -> bool {
        self == Self::On
    }
}

/// A probability given on the command line: a number from 0 to 1.
pub fn probability(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{text:?} is not a probability from 0 to 1"))
}

/// How a command ended, for the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    /// Some inputs failed (already reported, one line each), the rest succeeded.
    Partial,
}

impl Exit {
    /// `Partial` when any of the inputs failed.
    pub fn failed(count: usize) -> Self {
        if count > 0 { Self::Partial } else { Self::Ok }
    }
}

impl CliError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            super::printable("photo\u{1b}[2J\u{7}.jpg: ok"),
            "photo\\u{1b}[2J\\u{7}.jpg: ok"
        );
        assert_eq!(super::printable("Zürich · 東京"), "Zürich · 東京");
    }
}
