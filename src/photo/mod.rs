//! Photos in: decoding with size caps and EXIF orientation (`decode.rs`), and CLIP's exact
//! preprocessing (`preprocess.rs`). The first stage of the pipeline; knows nothing of models.

pub mod decode;
mod error;
pub mod exif;
mod jpeg;
pub mod preprocess;
pub mod walk;

pub use error::PhotoError;

use std::path::Path;

/// File extensions of the formats geolens reads (folders are searched for these; files named
/// by the user are always tried, whatever their name).
pub const PHOTO_EXTENSIONS: [&str; 8] =
    ["jpg", "jpeg", "png", "webp", "tif", "tiff", "heic", "heif"];

pub fn has_photo_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PHOTO_EXTENSIONS.iter().any(|p| e.eq_ignore_ascii_case(p)))
}
