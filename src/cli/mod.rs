//! Command-line commands. Each returns a library error; `main` turns it into one line and a
//! non-zero exit.

pub mod aerial;
pub mod cells;
pub mod eval;
pub mod export;
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
