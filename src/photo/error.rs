//! What can go wrong reading a photo. Its own file so that the fuzz targets (`fuzz/`) can
//! build the decoding stage from these very sources without the rest of the crate.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PhotoError {
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}: unsupported or unrecognised image format{}", path.display(), hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unsupported { path: PathBuf, hint: Option<String> },
    #[error("{}: image is {width}x{height} pixels; geolens reads images of at most {max_megapixels} megapixels", path.display())]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        max_megapixels: u64,
    },
    #[error(
        "{}: image is {width}x{height} pixels of {sample}; decoding it would take {} MB, and geolens decodes at most {} MB per photo",
        path.display(), bytes / 1_000_000, max_bytes / 1_000_000
    )]
    TooManyBytes {
        path: PathBuf,
        width: u32,
        height: u32,
        /// The decoded sample layout ("16-bit RGBA", "32-bit float RGBA").
        sample: String,
        bytes: u64,
        max_bytes: u64,
    },
    #[error("{}: corrupt or truncated image: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{}: image is empty (0 pixels)", path.display())]
    Empty { path: PathBuf },
}
