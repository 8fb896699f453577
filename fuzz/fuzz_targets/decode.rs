//! Any bytes through geolens's decoder (size cap, truncation check, EXIF orientation, HEIC)
//! and CLIP's preprocessing: errors are fine, panics and runaway memory are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

// geolens's own sources for the stage, as in `src/photo/` (`decode.rs` finds the error type as
// `super::PhotoError` and its file helpers as `crate::files`).
#[allow(dead_code)]
#[path = "../../src/photo/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../src/files.rs"]
mod files;
#[allow(dead_code)]
#[path = "../../src/photo/jpeg.rs"]
mod jpeg;
#[allow(dead_code)]
#[path = "../../src/photo/decode.rs"]
mod decode;
#[allow(dead_code)]
#[path = "../../src/photo/preprocess.rs"]
mod preprocess;

use error::PhotoError;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(image) = decode::decode_photo_bytes(bytes, std::path::Path::new("fuzz")) {
        // Big but legal images only slow the fuzzer down.
        if u64::from(image.width()) * u64::from(image.height()) <= 4_000_000 {
            let pixels = preprocess::clip_pixels(&image, 224);
            assert_eq!(pixels.len(), 3 * 224 * 224);
            assert!(pixels.iter().all(|v| v.is_finite()));
        }
    }
});
