//! EXIF facts of a photo: GPS position, capture time, camera. Read-only: geolens never writes
//! to the user's photos.

use std::io::Read;
use std::path::Path;

use exif::{In, Tag, Value};
use serde::Serialize;

use crate::geo::latlon::LatLonDeg;

/// What a photo's EXIF block says, as far as geolens uses it. Every field is optional: most
/// photos lack some, many lack all.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PhotoFacts {
    /// Where the camera's GPS put the photo (valid latitude/longitude only).
    pub gps: Option<LatLonDeg>,
    /// `DateTimeOriginal` (else `DateTime`) as written: `YYYY:MM:DD HH:MM:SS`.
    pub taken_at: Option<String>,
    /// Make and model, e.g. "Apple iPhone 12".
    pub camera: Option<String>,
    /// The camera clock's offset from UTC as written (`OffsetTimeOriginal`, else `OffsetTime`),
    /// e.g. "+09:00"; checked where it is used.
    pub utc_offset: Option<String>,
}

impl PhotoFacts {
    pub fn is_empty(&self) -> bool {
        self.gps.is_none()
            && self.taken_at.is_none()
            && self.camera.is_none()
            && self.utc_offset.is_none()
    }
}

/// Reads the EXIF facts of the photo at `path`. A photo without EXIF, or with EXIF that cannot
/// be parsed, has no facts: that is never an error (the pixels may still be fine).
pub fn read_facts(path: &Path) -> PhotoFacts {
    metadata_bytes(path)
        .map(|bytes| read_facts_from_bytes(&bytes))
        .unwrap_or_default()
}

/// How much of a photo is read for its metadata: JPEG keeps EXIF and XMP in its segments before
/// the picture data (64 KB each at most), read up to there and never past this; other formats
/// (HEIC, TIFF) may keep them further in.
const JPEG_METADATA_BYTES: usize = 1 << 20;
const OTHER_METADATA_BYTES: u64 = 64 << 20;

/// The bytes a photo's metadata is read from: a JPEG's segments before its picture data, at
/// most 64 MiB of any other photo. Never the whole of a huge or padded file.
pub fn metadata_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = crate::files::open_regular(path)?;
    let mut head = [0u8; 2];
    let mut bytes = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    reader.read_exact(&mut head)?;
    bytes.extend_from_slice(&head);
    if head == [0xFF, 0xD8] {
        jpeg_segments(&mut reader, &mut bytes);
    } else {
        reader.take(OTHER_METADATA_BYTES).read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Appends a JPEG's segments, one at a time, up to its first scan (where the picture data
/// starts) or [`JPEG_METADATA_BYTES`]; a cut or malformed file ends it where it goes wrong.
fn jpeg_segments(reader: &mut impl Read, bytes: &mut Vec<u8>) {
    const START_OF_SCAN: u8 = 0xDA;
    const END_OF_IMAGE: u8 = 0xD9;
    loop {
        let mut marker = [0u8; 4];
        if reader.read_exact(&mut marker).is_err() {
            return;
        }
        bytes.extend_from_slice(&marker);
        if marker[0] != 0xFF || matches!(marker[1], START_OF_SCAN | END_OF_IMAGE) {
            return;
        }
        let length = usize::from(u16::from_be_bytes([marker[2], marker[3]]));
        let start = bytes.len();
        if length < 2 || start + length - 2 > JPEG_METADATA_BYTES {
            return;
        }
        bytes.resize(start + length - 2, 0);
        if reader.read_exact(&mut bytes[start..]).is_err() {
            bytes.truncate(start);
            return;
        }
    }
}

/// [`read_facts`] for a file held in memory (JPEG, PNG, WebP, TIFF or HEIC).
pub fn read_facts_from_bytes(bytes: &[u8]) -> PhotoFacts {
    // Keep what is readable of EXIF that breaks a rule (piexif, for one, writes a next-IFD
    // link where none may be), as exiftool and Pillow do.
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let tolerant = |r: Result<exif::Exif, exif::Error>| {
        r.or_else(|e| e.distill_partial_result(|_ignored_errors| ()))
            .ok()
    };
    let parsed =
        tolerant(reader.read_from_container(&mut std::io::Cursor::new(bytes))).or_else(|| {
            // HEIC keeps EXIF in an item the container reader may not find; ask the decoder.
            let raw = heic_decoder::read_metadata(bytes).ok()?.exif?;
            tolerant(reader.read_raw(strip_exif_prefix(raw)))
        });
    parsed.map(|e| facts_of(&e)).unwrap_or_default()
}

/// HEIF stores EXIF behind a 4-byte offset to the TIFF header (often followed by "Exif\0\0").
fn strip_exif_prefix(raw: Vec<u8>) -> Vec<u8> {
    let start = raw
        .windows(4)
        .position(|w| w == b"MM\0*" || w == b"II*\0")
        .unwrap_or(0);
    raw[start..].to_vec()
}

fn facts_of(e: &exif::Exif) -> PhotoFacts {
    let text = |tag: Tag| -> Option<String> {
        match &e.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(parts) => {
                let s = parts
                    .iter()
                    .map(|p| {
                        String::from_utf8_lossy(p)
                            .trim_matches(['\0', ' '])
                            .to_string()
                    })
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                (!s.is_empty()).then_some(s)
            }
            _ => None,
        }
    };
    let camera = match (text(Tag::Make), text(Tag::Model)) {
        // Models often repeat the make ("Canon" + "Canon EOS 5D").
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            Some(model)
        }
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.or(model),
    };
    PhotoFacts {
        gps: gps_of(e),
        taken_at: text(Tag::DateTimeOriginal).or_else(|| text(Tag::DateTime)),
        camera,
        utc_offset: text(Tag::OffsetTimeOriginal).or_else(|| text(Tag::OffsetTime)),
    }
}

/// Degrees from EXIF's degrees/minutes/seconds rationals and N/S/E/W reference. A value
/// that is not a position (a zero denominator under a non-zero numerator, minutes or seconds
/// of 60 or more) is no position at all, never a made-up one; `0/0` is 0, as exiftool reads
/// it (Nikon writes it for the seconds after degrees and decimal minutes).
fn coordinate(e: &exif::Exif, value_tag: Tag, ref_tag: Tag, negative: u8) -> Option<f64> {
    // Unsigned rationals as the standard says, or signed ones as some phones write (HMD's
    // Nokia 8.3); `None` for a zero denominator under anything but a zero numerator.
    let value = |num: f64, denom: f64| match (num == 0.0, denom == 0.0) {
        (true, true) => Some(0.0),
        (false, true) => None,
        _ => Some(num / denom),
    };
    let dms: Vec<Option<f64>> = match &e.get_field(value_tag, In::PRIMARY)?.value {
        Value::Rational(v) => v
            .iter()
            .map(|r| value(f64::from(r.num), f64::from(r.denom)))
            .collect(),
        Value::SRational(v) => v
            .iter()
            .map(|r| value(f64::from(r.num), f64::from(r.denom)))
            .collect(),
        _ => return None,
    };
    // Degrees must be there; minutes and seconds may be left out.
    let part = |i: usize, below: f64| -> Option<f64> {
        match dms.get(i) {
            None if i > 0 => Some(0.0),
            None => None,
            Some(v) => v.filter(|v| (0.0..below).contains(v)),
        }
    };
    let degrees = part(0, 181.0)? + part(1, 60.0)? / 60.0 + part(2, 60.0)? / 3600.0;
    let sign = match &e.get_field(ref_tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(r)) if r.first().and_then(|s| s.first()) == Some(&negative) => -1.0,
        _ => 1.0,
    };
    Some(sign * degrees).filter(|v| v.is_finite())
}

fn gps_of(e: &exif::Exif) -> Option<LatLonDeg> {
    let lat_deg = coordinate(e, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon_deg = coordinate(e, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    ((-90.0..=90.0).contains(&lat_deg) && (-180.0..=180.0).contains(&lon_deg))
        .then_some(LatLonDeg { lat_deg, lon_deg })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{exif_block, jpeg_with_exif};

    fn rocket() -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg"),
        )
        .expect("fixture")
    }

    #[test]
    fn reads_gps_time_and_camera() {
        // Kyoto: 35° 0' 41.04" N, 135° 46' 5.16" E; and Rio: 22° 54' 0" S, 43° 10' 12" W.
        let tiff = exif_block(
            (35, 0, 4104, b'N'),
            (135, 46, 516, b'E'),
            "2024:04:01 09:30:00",
        );
        let facts = read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff));
        let gps = facts.gps.expect("gps");
        assert!((gps.lat_deg - 35.0114).abs() < 1e-4, "{gps:?}");
        assert!((gps.lon_deg - 135.7681).abs() < 1e-4, "{gps:?}");
        assert_eq!(facts.taken_at.as_deref(), Some("2024:04:01 09:30:00"));
        assert_eq!(facts.camera.as_deref(), Some("Canon EOS 5D"));

        let tiff = exif_block(
            (22, 54, 0, b'S'),
            (43, 10, 1200, b'W'),
            "2020:01:01 00:00:00",
        );
        let gps = read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff))
            .gps
            .expect("gps");
        assert!((gps.lat_deg + 22.9).abs() < 1e-9 && (gps.lon_deg + 43.17).abs() < 1e-9);

        // An Exif IFD linking to a next IFD (as piexif writes) breaks a rule; the rest is read.
        let mut tiff = exif_block(
            (35, 0, 4104, b'N'),
            (135, 46, 516, b'E'),
            "2024:04:01 09:30:00",
        );
        let exif_ifd_next = 8 + 54 + 2 + 12;
        tiff[exif_ifd_next..exif_ifd_next + 4].copy_from_slice(&8u32.to_be_bytes());
        let strict = exif::Reader::new().read_raw(tiff.clone());
        assert!(strict.is_err(), "the strict reader rejects it");
        let facts = read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff));
        assert!(facts.gps.is_some(), "{facts:?}");
        assert_eq!(facts.camera.as_deref(), Some("Canon EOS 5D"));

        // Signed rationals, as HMD's Nokia 8.3 writes them: the same position.
        let mut tiff = exif_block(
            (60, 8, 4814, b'N'),
            (24, 54, 2438, b'E'),
            "2022:08:14 14:12:31",
        );
        let gps_ifd = 8 + 54 + 18;
        let entries = usize::from(u16::from_be_bytes([tiff[gps_ifd], tiff[gps_ifd + 1]]));
        for k in 0..entries {
            let at = gps_ifd + 2 + 12 * k;
            let tag = u16::from_be_bytes([tiff[at], tiff[at + 1]]);
            if tag == 2 || tag == 4 {
                assert_eq!(tiff[at + 3], 5, "RATIONAL");
                tiff[at + 3] = 10; // SRATIONAL
            }
        }
        let gps = read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff))
            .gps
            .expect("signed rationals");
        assert!((gps.lat_deg - 60.146_706).abs() < 1e-5, "{gps:?}");
        assert!((gps.lon_deg - 24.906_772).abs() < 1e-5, "{gps:?}");

        // Nikon's degrees and decimal minutes with `0/0` seconds: the seconds are 0. Any other
        // zero denominator is no position.
        let seconds_of = |tiff: &mut Vec<u8>, tag_wanted: u16, num: u32, denom: u32| {
            let gps_ifd = 8 + 54 + 18;
            let entries = usize::from(u16::from_be_bytes([tiff[gps_ifd], tiff[gps_ifd + 1]]));
            for k in 0..entries {
                let at = gps_ifd + 2 + 12 * k;
                if u16::from_be_bytes([tiff[at], tiff[at + 1]]) == tag_wanted {
                    let value = u32::from_be_bytes([
                        tiff[at + 8],
                        tiff[at + 9],
                        tiff[at + 10],
                        tiff[at + 11],
                    ]) as usize;
                    tiff[value + 16..value + 20].copy_from_slice(&num.to_be_bytes());
                    tiff[value + 20..value + 24].copy_from_slice(&denom.to_be_bytes());
                }
            }
        };
        let mut tiff = exif_block((22, 54, 0, b'S'), (43, 10, 0, b'W'), "2020:01:01 00:00:00");
        seconds_of(&mut tiff, 2, 0, 0);
        seconds_of(&mut tiff, 4, 0, 0);
        let gps = read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff))
            .gps
            .expect("0/0 seconds are 0");
        assert!((gps.lat_deg + 22.9).abs() < 1e-9 && (gps.lon_deg + 43.1667).abs() < 1e-4);
        seconds_of(&mut tiff, 2, 5, 0);
        let facts = read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff));
        assert_eq!(facts.gps, None, "5/0 seconds are no position");

        // Minutes or seconds of 60 or more are not a position (0° 999' once read as 16.65°);
        // the rest of the EXIF is still read.
        for (lat, lon) in [
            ((0, 999, 0, b'N'), (10, 0, 0, b'E')),
            ((10, 0, 0, b'N'), (10, 0, 6000, b'E')),
        ] {
            let facts = read_facts_from_bytes(&jpeg_with_exif(
                &rocket(),
                &exif_block(lat, lon, "2020:01:01 00:00:00"),
            ));
            assert_eq!(facts.gps, None, "{lat:?} {lon:?}");
            assert_eq!(facts.camera.as_deref(), Some("Canon EOS 5D"));
        }
    }

    #[test]
    fn reads_the_gps_of_real_phone_files_when_present() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/real-camera");
        let photo = dir.join("HMD_Nokia_8.3_5G.jpg");
        if !photo.is_file() {
            eprintln!("skipped: {} is not here (no ../shared)", photo.display());
            return;
        }
        // What exiftool reads: 60.146706 N, 24.906772 E.
        let gps = read_facts(&photo).gps.expect("the Nokia's GPS");
        assert!((gps.lat_deg - 60.146_706).abs() < 1e-5, "{gps:?}");
        assert!((gps.lon_deg - 24.906_772).abs() < 1e-5, "{gps:?}");
    }

    #[test]
    fn reads_exif_inside_heic() {
        let facts = read_facts(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heic/L_exif_xmp_iptc.heic"),
        );
        // pillow-heif's test photo from a Sony A7S III (no GPS).
        assert_eq!(facts.taken_at.as_deref(), Some("2020:09:14 11:09:34"));
        assert_eq!(facts.camera.as_deref(), Some("SONY ILCE-7SM3"));
        assert!(facts.gps.is_none());
    }

    #[test]
    fn photos_without_or_with_broken_exif_have_no_facts() {
        assert!(read_facts_from_bytes(&rocket()).is_empty());
        assert!(read_facts_from_bytes(b"").is_empty());
        assert!(read_facts_from_bytes(b"not an image").is_empty());
        let tiff = exif_block((35, 0, 0, b'N'), (135, 0, 0, b'E'), "2024:04:01 09:30:00");
        let with = jpeg_with_exif(&rocket(), &tiff);
        for cut in [10, 30, 60, 100] {
            // Truncated EXIF: no panic, and whatever is returned is in range.
            let mut damaged = with.clone();
            let end = 12 + cut;
            for b in &mut damaged[end..end + 40] {
                *b = 0xAB;
            }
            let facts = read_facts_from_bytes(&damaged);
            if let Some(g) = facts.gps {
                assert!((-90.0..=90.0).contains(&g.lat_deg));
            }
        }
        // Out-of-range coordinates are dropped.
        let tiff = exif_block((95, 0, 0, b'N'), (10, 0, 0, b'E'), "2024:04:01 09:30:00");
        assert!(
            read_facts_from_bytes(&jpeg_with_exif(&rocket(), &tiff))
                .gps
                .is_none()
        );
    }
}
