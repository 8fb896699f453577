//! Photos in: decoding with size caps and EXIF orientation (`decode.rs`), and CLIP's exact
//! preprocessing (`preprocess.rs`). The first stage of the pipeline; knows nothing of models.

pub mod decode;
pub mod exif;
pub mod preprocess;

use std::path::{Path, PathBuf};

/// File extensions of the formats geolens reads (folders are searched for these; files named
/// by the user are always tried, whatever their name).
pub const PHOTO_EXTENSIONS: [&str; 8] =
    ["jpg", "jpeg", "png", "webp", "tif", "tiff", "heic", "heif"];

pub fn has_photo_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PHOTO_EXTENSIONS.iter().any(|p| e.eq_ignore_ascii_case(p)))
}

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
    #[error("{}: corrupt or truncated image: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{}: image is empty (0 pixels)", path.display())]
    Empty { path: PathBuf },
}
