//! What a library's photos say of themselves: capture time, camera and position.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use rayon::prelude::*;

use crate::geo::latlon::LatLonDeg;
use crate::photo::exif::{PhotoFacts, metadata_bytes, read_facts_from_bytes};
use crate::predict::clock::parse_utc_offset;
use crate::sidecar::{embedded_xmp, sidecar_position, xmp_position};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestExif, dms, jpeg_with_exif, test_exif};

    #[test]
    fn a_jpeg_is_read_up_to_its_picture_data_only() {
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg");
        let jpeg = std::fs::read(fixture).expect("fixture");
        let exif = test_exif(&TestExif {
            make: "Canon",
            model: "Canon EOS R6",
            gps: Some((dms(48.85, b'N', b'S'), dms(2.3, b'E', b'W'))),
            taken_at: "2024:04:01 11:05:00",
            utc_offset: Some("+02:00"),
        });
        let photo = jpeg_with_exif(&jpeg, &exif);
        let dir = std::env::temp_dir().join(format!("geolens-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("IMG_1.jpg");
        std::fs::write(&path, &photo).expect("write");

        let head = metadata_bytes(&path).expect("read");
        assert!(
            head.len() < photo.len() / 4,
            "{} of {}",
            head.len(),
            photo.len()
        );
        assert_eq!(head, photo[..head.len()], "the file's own bytes, in order");
        assert_eq!(&head[head.len() - 4..head.len() - 2], &[0xFF, 0xDA]);
        let read = read_photo(&path);
        assert_eq!(read.camera.as_deref(), Some("Canon EOS R6"));
        assert_eq!(read.utc_offset_min, Some(120));
        let (at, from) = read.position.expect("position");
        assert_eq!(from, PositionFrom::Exif);
        assert!((at.lat_deg - 48.85).abs() < 1e-4 && (at.lon_deg - 2.3).abs() < 1e-4);

        // Cut inside a segment: what was read before it, no error.
        std::fs::write(&path, &photo[..30]).expect("write");
        assert_eq!(metadata_bytes(&path).expect("read"), photo[..6]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
