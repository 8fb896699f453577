//! What a library's photos say of themselves: capture time, camera and position.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use rayon::prelude::*;

use crate::geo::latlon::LatLonDeg;
use crate::photo::exif::{PhotoFacts, read_facts_from_bytes};
use crate::predict::clock::parse_utc_offset;
use crate::sidecar::{embedded_xmp, sidecar_position, xmp_position};

/// How much of a photo is read for its metadata: JPEG keeps EXIF and XMP in its first
/// segments (64 KB each at most); other formats (HEIC, TIFF) may keep them further in.
const JPEG_METADATA_BYTES: u64 = 1 << 20;
const OTHER_METADATA_BYTES: u64 = 64 << 20;

/// Where a photo's own position was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionFrom {
    /// The EXIF GPS tags.
    Exif,
    /// The XMP packet inside the photo (some cameras and editors write only that).
    EmbeddedXmp,
    /// The photo's XMP sidecar.
    Sidecar,
}

/// One photo of the library as its metadata describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryPhoto {
    pub path: PathBuf,
    /// Capture time as the camera's clock read it (`DateTimeOriginal`).
    pub taken_local: Option<NaiveDateTime>,
    /// The clock's UTC offset in minutes, where the camera wrote `OffsetTimeOriginal`.
    pub utc_offset_min: Option<i32>,
    /// Make and model ("Canon EOS 5D"); photos without are grouped as one unknown camera.
    pub camera: Option<String>,
    pub position: Option<(LatLonDeg, PositionFrom)>,
}

impl LibraryPhoto {
    /// The photo's name for messages ("IMG_0012.JPG").
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// Reads every photo's metadata, in the order given (photos whose file cannot be read have no
/// metadata: they are still listed, with nothing known).
pub fn scan(paths: &[PathBuf]) -> Vec<LibraryPhoto> {
    paths.par_iter().map(|p| read_photo(p)).collect()
}

fn read_photo(path: &Path) -> LibraryPhoto {
    let bytes = metadata_bytes(path).unwrap_or_default();
    let facts: PhotoFacts = read_facts_from_bytes(&bytes);
    let position = facts
        .gps
        .map(|at| (at, PositionFrom::Exif))
        .or_else(|| {
            embedded_xmp(&bytes)
                .and_then(xmp_position)
                .map(|at| (at, PositionFrom::EmbeddedXmp))
        })
        .or_else(|| sidecar_position(path).map(|(at, _)| (at, PositionFrom::Sidecar)));
    LibraryPhoto {
        path: path.to_path_buf(),
        taken_local: facts
            .taken_at
            .as_deref()
            .and_then(|t| NaiveDateTime::parse_from_str(t.trim(), "%Y:%m:%d %H:%M:%S").ok()),
        utc_offset_min: facts.utc_offset.as_deref().and_then(parse_utc_offset),
        camera: facts.camera,
        position,
    }
}

/// The bytes metadata is read from: the head of a JPEG, at most 64 MiB of any other photo.
fn metadata_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = crate::files::open_regular(path)?;
    let mut head = [0u8; 2];
    let mut bytes = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    reader.read_exact(&mut head)?;
    bytes.extend_from_slice(&head);
    if head == [0xFF, 0xD8] {
        reader.take(JPEG_METADATA_BYTES).read_to_end(&mut bytes)?;
    } else {
        reader.take(OTHER_METADATA_BYTES).read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}
