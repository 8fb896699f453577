//! Decoding a photo into RGB pixels, upright (EXIF orientation applied), refusing what would
//! exhaust memory and naming what went wrong. Never writes to the file.

use std::io::{BufRead, Seek};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbImage};

use super::PhotoError;

/// Largest image decoded: 100 megapixels (300 MB as RGB), above any consumer camera.
pub const MAX_MEGAPIXELS: u64 = 100;

/// The most the PNG decoder may allocate besides the pixels: its compressed metadata (ICC
/// profile, text) can inflate to gigabytes from a few kilobytes. Real ICC profiles are a few
/// kilobytes to a few megabytes.
pub const MAX_PNG_METADATA_BYTES: u64 = 32 << 20;

/// Decodes the photo at `path`.
pub fn decode_photo(path: &Path) -> Result<RgbImage, PhotoError> {
    let file = crate::files::open_regular(path).map_err(|e| PhotoError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if file.metadata().map(|m| m.len()).unwrap_or(1) == 0 {
        return Err(PhotoError::Corrupt {
            path: path.to_owned(),
            message: "the file is empty (0 bytes)".into(),
        });
    }
    decode_from(std::io::BufReader::new(file), path)
}

/// Decodes a photo held in memory (pasted or dropped bytes); `name` labels errors.
pub fn decode_photo_bytes(bytes: &[u8], name: &Path) -> Result<RgbImage, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Corrupt {
            path: name.to_owned(),
            message: "the file is empty (0 bytes)".into(),
        });
    }
    decode_from(std::io::Cursor::new(bytes), name)
}

/// The ISO-BMFF brand of a HEIF-family file (`heic`, `mif1`, `avif`, ...), from its first bytes.
fn heif_brand(head: &[u8]) -> Option<[u8; 4]> {
    let brand = head.get(4..12)?;
    let major: [u8; 4] = brand[4..8].try_into().ok()?;
    (brand.starts_with(b"ftyp")
        && [
            b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc", b"hevx", b"avif",
            b"avis",
        ]
        .iter()
        .any(|b| major == **b))
    .then_some(major)
}

/// Decodes a HEIC/HEIF photo (HEVC inside ISO-BMFF) with the pure-Rust `heic-decoder`. The
/// container's rotation and mirroring are applied by the decoder; the size cap is checked from
/// the header before any pixel is decoded.
fn decode_heif(bytes: &[u8], path: &Path) -> Result<RgbImage, PhotoError> {
    let corrupt = |e: heic_decoder::HeifError| match e {
        heic_decoder::HeifError::Unsupported(what) => PhotoError::Unsupported {
            path: path.to_owned(),
            hint: Some(format!(
                "this HEIF file uses {what}, which geolens cannot decode yet"
            )),
        },
        other => PhotoError::Corrupt {
            path: path.to_owned(),
            message: other.to_string(),
        },
    };
    let info = heic_decoder::probe(bytes).map_err(corrupt)?;
    let (width, height) = (info.width as u64, info.height as u64);
    if width == 0 || height == 0 {
        return Err(PhotoError::Empty {
            path: path.to_owned(),
        });
    }
    if width * height > MAX_MEGAPIXELS * 1_000_000 {
        return Err(PhotoError::TooLarge {
            path: path.to_owned(),
            width: width.min(u64::from(u32::MAX)) as u32,
            height: height.min(u64::from(u32::MAX)) as u32,
            max_megapixels: MAX_MEGAPIXELS,
        });
    }
    let decoded = heic_decoder::decode(bytes).map_err(corrupt)?;
    let rgb = decoded.to_rgb8().map_err(corrupt)?;
    RgbImage::from_raw(rgb.width as u32, rgb.height as u32, rgb.data).ok_or_else(|| {
        PhotoError::Corrupt {
            path: path.to_owned(),
            message: "the HEIF decoder returned the wrong number of pixels".into(),
        }
    })
}

/// A JPEG cut short: decoders fill the missing part with grey instead of failing, so this is
/// checked up front, from the main image's own structure (an end-of-image marker anywhere, such
/// as the EXIF thumbnail's, proves nothing).
fn is_truncated_jpeg<R: BufRead + Seek>(reader: &mut R) -> std::io::Result<bool> {
    let mut magic = [0u8; 3];
    let n = reader.read(&mut magic)?;
    let truncated = if n == 3 && magic == [0xFF, 0xD8, 0xFF] {
        reader.rewind()?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        !main_image_is_complete(&bytes)
    } else {
        false
    };
    reader.rewind()?;
    Ok(truncated)
}

/// Walks the JPEG's segments by their lengths (so that nothing inside an APP segment, such as
/// a thumbnail, is taken for the image's own markers) and its entropy-coded scans, and says
/// whether the main image reaches its end-of-image marker with picture data enough for the
/// size its header declares (a sequential Huffman JPEG codes every 8x8 block in two bits at
/// the least: a 100-megapixel header over a small photo's scan is caught). Data after it
/// (multi-picture trailers, motion photos) is not looked at.
pub fn main_image_is_complete(bytes: &[u8]) -> bool {
    let mut pos = 2;
    // The frame's marker and size, and the entropy-coded bytes of its scans so far.
    let mut frame: Option<(u8, u64, u64)> = None;
    let mut scan_bytes = 0u64;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(0xFF), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return false;
        };
        pos += 2;
        match marker {
            0xD9 => return enough_scan_data(frame, scan_bytes),
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let Some(len) = bytes
            .get(pos..pos + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return false;
        };
        if len < 2 || pos + len > bytes.len() {
            return false;
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) && len >= 7 {
            let height = u64::from(u16::from_be_bytes([bytes[pos + 3], bytes[pos + 4]]));
            let width = u64::from(u16::from_be_bytes([bytes[pos + 5], bytes[pos + 6]]));
            frame.get_or_insert((marker, width, height));
        }
        pos += len;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor
            // a restart marker.
            match next_marker_after_scan(bytes, pos) {
                Some(at) => {
                    scan_bytes += (at - pos) as u64;
                    pos = at;
                }
                None => return false,
            }
        }
    }
}

/// Whether a sequential Huffman frame (baseline or extended) has at least one bit of scan
/// data per 8x8 block of its luma (every block costs two at the least); other frames
/// (progressive, arithmetic, lossless) are not judged.
fn enough_scan_data(frame: Option<(u8, u64, u64)>, scan_bytes: u64) -> bool {
    match frame {
        Some((0xC0 | 0xC1, width, height)) => {
            let blocks = width.div_ceil(8) * height.div_ceil(8);
            scan_bytes * 8 >= blocks
        }
        _ => true,
    }
}

fn next_marker_after_scan(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == 0xFF {
            match bytes[i + 1] {
                0x00 | 0xD0..=0xD7 | 0xFF => {}
                _ => return Some(i),
            }
        }
        i += 1;
    }
    None
}

fn decode_from<R: BufRead + Seek>(mut reader: R, path: &Path) -> Result<RgbImage, PhotoError> {
    let read_err = |e: std::io::Error| PhotoError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if is_truncated_jpeg(&mut reader).map_err(read_err)? {
        return Err(PhotoError::Corrupt {
            path: path.to_owned(),
            message: "the JPEG data ends early (no end-of-image marker, or far less picture \
                      data than the size its header declares)"
                .into(),
        });
    }
    let corrupt = |e: ImageError| match e {
        ImageError::Unsupported(u) => PhotoError::Unsupported {
            path: path.to_owned(),
            hint: Some(u.to_string()),
        },
        other => PhotoError::Corrupt {
            path: path.to_owned(),
            message: other.to_string(),
        },
    };
    let mut reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(read_err)?;
    if reader.format().is_none() {
        let mut inner = reader.into_inner();
        let mut head = [0u8; 16];
        inner.rewind().map_err(read_err)?;
        let n = std::io::Read::read(&mut inner, &mut head).map_err(read_err)?;
        return match heif_brand(&head[..n]) {
            Some(brand) if &brand == b"avif" || &brand == b"avis" => Err(PhotoError::Unsupported {
                path: path.to_owned(),
                hint: Some("AVIF photos are not supported yet; export the photo as JPEG".into()),
            }),
            Some(_) => {
                inner.rewind().map_err(read_err)?;
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut inner, &mut bytes).map_err(read_err)?;
                decode_heif(&bytes, path)
            }
            None => Err(PhotoError::Unsupported {
                path: path.to_owned(),
                hint: Some("geolens reads JPEG, PNG, WebP, TIFF and HEIC photos".into()),
            }),
        };
    }
    // The pixel cap below is ours, checked from the header before any pixel is allocated. The
    // PNG decoder's own allocations (inflated metadata, row buffers) have a budget of their
    // own: past it, a profile or text chunk is dropped unread.
    let mut limits = image::Limits::no_limits();
    if reader.format() == Some(image::ImageFormat::Png) {
        limits.max_alloc = Some(MAX_PNG_METADATA_BYTES);
    }
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Empty {
            path: path.to_owned(),
        });
    }
    if u64::from(width) * u64::from(height) > MAX_MEGAPIXELS * 1_000_000 {
        return Err(PhotoError::TooLarge {
            path: path.to_owned(),
            width,
            height,
            max_megapixels: MAX_MEGAPIXELS,
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/photos")
            .join(name)
    }

    #[test]
    fn decodes_real_photos() {
        let img = decode_photo(&fixture("rocket.jpg")).expect("jpeg");
        assert_eq!(img.dimensions(), (640, 427));
        let img = decode_photo(&fixture("coffee.png")).expect("png");
        assert_eq!(img.dimensions(), (600, 400));
    }

    /// The PNG photo re-encoded losslessly as WebP and TIFF decodes to the same pixels.
    #[test]
    fn decodes_webp_and_tiff() {
        let png = decode_photo(&fixture("coffee.png")).expect("png");
        for format in [image::ImageFormat::WebP, image::ImageFormat::Tiff] {
            let mut bytes = Vec::new();
            image::DynamicImage::ImageRgb8(png.clone())
                .write_to(&mut std::io::Cursor::new(&mut bytes), format)
                .expect("encode");
            let back = decode_photo_bytes(&bytes, Path::new("x")).expect("decodes");
            assert_eq!(back, png, "{format:?}");
        }
    }

    #[test]
    fn decodes_heic_and_rejects_a_truncated_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heic");
        let img = decode_photo(&dir.join("RGB_8__128x128.heif")).expect("heic");
        assert_eq!(img.dimensions(), (128, 128));
        // pillow-heif's test image is a colour gradient, not a flat grey.
        let (min, max) = img
            .pixels()
            .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        assert!(max - min > 100, "{min}..{max}");
        let bytes = std::fs::read(dir.join("RGB_8__128x128.heif")).expect("read");
        for cut in [100, bytes.len() / 2, bytes.len() - 10] {
            let err = decode_photo_bytes(&bytes[..cut], Path::new("cut.heic"));
            assert!(err.is_err(), "cut at {cut} decoded");
        }
    }

    #[test]
    fn bad_input_gives_named_errors() {
        let name = Path::new("x.jpg");
        let err = decode_photo_bytes(b"", name)
            .expect_err("empty")
            .to_string();
        assert!(err.contains("empty"), "{err}");
        let err = decode_photo_bytes(b"hello, this is text", name)
            .expect_err("text")
            .to_string();
        assert!(err.contains("unsupported"), "{err}");
        let jpeg = std::fs::read(fixture("rocket.jpg")).expect("read");
        let err = decode_photo_bytes(&jpeg[..jpeg.len() / 3], name)
            .expect_err("truncated")
            .to_string();
        assert!(err.contains("corrupt or truncated"), "{err}");
        let avif = b"\0\0\0\x18ftypavif\0\0\0\0mif1avif";
        let err = decode_photo_bytes(avif, name)
            .expect_err("avif")
            .to_string();
        assert!(err.to_lowercase().contains("avif"), "{err}");
        // A HEIC header with nothing after it.
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let err = decode_photo_bytes(heic, name)
            .expect_err("heic")
            .to_string();
        assert!(err.contains("corrupt or truncated"), "{err}");
        let err = decode_photo(Path::new("/no/such/photo.jpg"))
            .expect_err("missing")
            .to_string();
        assert!(err.contains("/no/such/photo.jpg"), "{err}");
    }

    #[test]
    fn metadata_that_inflates_past_the_decoders_budget_is_refused() {
        // A real profile is kilobytes; one that would inflate to 2 GiB is dropped after at
        // most MAX_PNG_METADATA_BYTES, and the pixels still decode. (Unbounded, this took
        // 2.4 GB and aborted on larger ones; the test below measures the memory.)
        for profile_bytes in [3_000, 2 << 30] {
            let png = crate::testing::png_with_icc_profile_of(profile_bytes);
            assert!(png.len() < 20 << 20, "{} bytes", png.len());
            let started = std::time::Instant::now();
            let ok = decode_photo_bytes(&png, Path::new("icc.png")).expect("decodes");
            assert_eq!(ok.dimensions(), (16, 16));
            assert!(ok.pixels().all(|p| p.0 == [0, 0, 0]));
            assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        }
    }

    /// Peak resident memory of this process, in MB (Linux).
    fn peak_rss_mb() -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("proc");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM");
        line.split_whitespace()
            .nth(1)
            .and_then(|kb| kb.parse::<f64>().ok())
            .expect("kB")
            / 1e3
    }

    #[test]
    fn a_metadata_bomb_is_decoded_within_its_memory_budget() {
        // In a child process of its own, so that other tests' memory does not count.
        const CHILD: &str = "GEOLENS_TEST_DECODE_BOMB_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let png = crate::testing::png_with_icc_profile_of(2 << 30);
            decode_photo_bytes(&png, Path::new("bomb.png")).expect("decodes");
            let peak = peak_rss_mb();
            println!("peak resident memory {peak:.0} MB");
            assert!(peak < 250.0, "peak resident memory {peak:.0} MB");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "photo::decode::tests::a_metadata_bomb_is_decoded_within_its_memory_budget",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("peak resident memory"),
            "{text}"
        );
    }

    #[test]
    fn a_jpeg_cut_anywhere_in_its_image_is_truncated_whatever_its_thumbnail_says() {
        let jpeg = std::fs::read(fixture("rocket.jpg")).expect("read");
        assert!(main_image_is_complete(&jpeg));
        // An APP segment carrying a thumbnail with its own end-of-image marker, as cameras
        // write in their EXIF, and a multi-picture trailer after the image.
        let thumbnail = [&[0xFF, 0xD8, 0xFF, 0xDB][..], &[0u8; 40], &[0xFF, 0xD9]].concat();
        let mut app = b"Exif\0\0".to_vec();
        app.extend_from_slice(&thumbnail);
        let mut camera = jpeg[..2].to_vec();
        camera.extend_from_slice(&[0xFF, 0xE1]);
        camera.extend_from_slice(&((app.len() + 2) as u16).to_be_bytes());
        camera.extend_from_slice(&app);
        camera.extend_from_slice(&jpeg[2..]);
        let whole = camera.len();
        camera.extend_from_slice(&thumbnail);
        assert!(main_image_is_complete(&camera));
        assert!(decode_photo_bytes(&camera, Path::new("camera.jpg")).is_ok());
        for cut in (3..whole - 1).step_by(997).chain([whole - 2, whole - 1]) {
            assert!(!main_image_is_complete(&camera[..cut]), "cut at {cut}");
            let err = decode_photo_bytes(&camera[..cut], Path::new("cut.jpg"))
                .expect_err("truncated")
                .to_string();
            assert!(err.contains("truncated"), "cut at {cut}: {err}");
        }
        // Cut inside the trailer: the image itself is whole.
        assert!(decode_photo_bytes(&camera[..whole + 10], Path::new("t.jpg")).is_ok());

        // A header saying 9999x10000 over the 640x427 photo's scan: cut short as well.
        let sos = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("scan");
        let sof = jpeg[..sos]
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline frame");
        let mut inflated = jpeg.clone();
        inflated[sof + 5..sof + 7].copy_from_slice(&10_000u16.to_be_bytes());
        inflated[sof + 7..sof + 9].copy_from_slice(&9_999u16.to_be_bytes());
        assert!(!main_image_is_complete(&inflated));
        let err = decode_photo_bytes(&inflated, Path::new("big.jpg"))
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("truncated") || err.contains("ends early"),
            "{err}"
        );
        // The same at its own size (or a little larger) is whole.
        let mut same = jpeg.clone();
        same[sof + 5..sof + 7].copy_from_slice(&440u16.to_be_bytes());
        assert!(main_image_is_complete(&same));
    }

    #[test]
    fn a_heif_property_index_of_zero_means_no_property() {
        // The fixture's primary item lists hvcC, ispe and pixi (ipma, byte 348: essential,
        // index 3). Index 0 there, as HMD's Nokia 8.3 writes, means "no property" (ISO/IEC
        // 23008-12 9.3.2): the photo still decodes (heic-decoder 0.1.1 refused it; we carry a fix).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heic");
        let mut heif = std::fs::read(dir.join("RGB_8__128x128.heif")).expect("read");
        assert_eq!(heif[348], 0x83, "the fixture's pixi association");
        heif[348] = 0;
        let image = decode_photo_bytes(&heif, Path::new("zero.heif")).expect("decodes");
        assert_eq!(image.dimensions(), (128, 128));

        // The real phone file, when ../shared is here: 4608x3456, its GPS as exiftool reads it.
        let nokia = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/real-camera/HMD_Nokia_8.3_5G_hdr.heif");
        if !nokia.is_file() {
            eprintln!("skipped the phone file: {} is not here", nokia.display());
            return;
        }
        assert_eq!(
            decode_photo(&nokia).expect("decodes").dimensions(),
            (4608, 3456)
        );
        let gps = crate::photo::exif::read_facts(&nokia).gps.expect("GPS");
        assert!((gps.lat_deg - 40.662_993).abs() < 1e-5, "{gps:?}");
        assert!((gps.lon_deg + 3.763_741).abs() < 1e-5, "{gps:?}");
    }

    #[test]
    fn a_huge_header_is_refused_before_any_pixel_is_allocated() {
        let png = crate::testing::huge_png_header(30_000, 30_000);
        let err = decode_photo_bytes(&png, Path::new("huge.png"))
            .expect_err("900 MP")
            .to_string();
        assert!(
            err.contains("30000x30000") && err.contains("100 megapixels"),
            "{err}"
        );
    }

    #[test]
    fn exif_orientation_is_applied() {
        // The rocket photo with an EXIF block saying "rotate 90 degrees clockwise" (6).
        let jpeg = std::fs::read(fixture("rocket.jpg")).expect("read");
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut rotated = jpeg[..2].to_vec();
        rotated.extend_from_slice(&[0xFF, 0xE1]);
        rotated.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        rotated.extend_from_slice(&app1);
        rotated.extend_from_slice(&jpeg[2..]);
        let upright = decode_photo_bytes(&jpeg, Path::new("a.jpg")).expect("plain");
        let turned = decode_photo_bytes(&rotated, Path::new("b.jpg")).expect("with exif");
        assert_eq!(turned.dimensions(), (427, 640));
        // Rotating 90 degrees clockwise moves the top-left pixel to the top-right.
        assert_eq!(turned.get_pixel(426, 0), upright.get_pixel(0, 0));
    }
}
