//! Decoding a photo into RGB pixels, upright (EXIF orientation applied), refusing what would
//! exhaust memory and naming what went wrong. Never writes to the file.

use std::io::{BufRead, Read, Seek};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, RgbImage};

use super::PhotoError;

/// Largest image decoded: 100 megapixels (300 MB as RGB), above any consumer camera.
pub const MAX_MEGAPIXELS: u64 = 100;

/// Largest decoded buffer, in the decoder's own sample format: 100 megapixels of 8-bit RGBA,
/// or 64 of 16-bit RGB. The pixel cap alone let an 11 KB deflated TIFF of 100 megapixels of
/// float32 RGBA ask for 1.6 GB. With the RGB copy the model reads (at most 300 MB) and an
/// orientation turn, a photo's decode peaks under 1 GB.
pub const MAX_DECODE_BYTES: u64 = 400_000_000;

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

/// Largest HEIF file read into memory (its boxes' extent): a 100-megapixel HEIC is a few tens
/// of MB.
pub const MAX_HEIF_BYTES: u64 = 256_000_000;

/// How far a HEIF file's top-level boxes (`ftyp`, `meta`, `mdat`, ...) reach: what follows the
/// last box a HEIF reader knows (padding, a trailer) is never read. A box that claims to run
/// past the file's end takes the rest of the file (the decoder then says it is cut short).
fn heif_extent<R: Read + Seek>(reader: &mut R) -> std::io::Result<u64> {
    const KNOWN: [&[u8; 4]; 10] = [
        b"ftyp", b"meta", b"mdat", b"idat", b"moov", b"free", b"skip", b"uuid", b"pdin", b"styp",
    ];
    let file_len = reader.seek(std::io::SeekFrom::End(0))?;
    let mut pos = 0u64;
    while pos + 8 <= file_len {
        reader.seek(std::io::SeekFrom::Start(pos))?;
        let mut head = [0u8; 16];
        reader.read_exact(&mut head[..8])?;
        if !KNOWN.iter().any(|k| head[4..8] == **k) {
            break;
        }
        let size = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
            0 => file_len - pos,
            1 => {
                if pos + 16 > file_len {
                    return Ok(file_len);
                }
                reader.read_exact(&mut head[8..16])?;
                u64::from_be_bytes(head[8..16].try_into().unwrap_or_default())
            }
            n => u64::from(n),
        };
        if size < 8 || size > file_len - pos {
            return Ok(file_len);
        }
        pos += size;
    }
    Ok(pos.max(8).min(file_len))
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

/// A JPEG's main image, read up to its end-of-image marker and no further (a trailer or
/// padding after it is never read), or the error of a JPEG cut short: decoders fill the missing
/// part with grey instead of failing, so this is checked up front, from the main image's own
/// structure (an end-of-image marker anywhere, such as the EXIF thumbnail's, proves nothing).
fn main_jpeg<R: BufRead + Seek>(reader: &mut R) -> std::io::Result<MainJpeg> {
    let mut magic = [0u8; 3];
    let n = reader.read(&mut magic)?;
    reader.rewind()?;
    if n < 3 || magic != [0xFF, 0xD8, 0xFF] {
        return Ok(MainJpeg::NotJpeg);
    }
    let Some(len) = super::jpeg::main_image_len(reader)? else {
        return Ok(MainJpeg::Cut);
    };
    reader.rewind()?;
    let mut bytes = Vec::with_capacity(len as usize);
    reader.take(len).read_to_end(&mut bytes)?;
    Ok(MainJpeg::Whole(bytes))
}

/// What [`main_jpeg`] found.
enum MainJpeg {
    /// Not a JPEG: the stream is rewound for the other decoders.
    NotJpeg,
    Cut,
    /// The main image's bytes.
    Whole(Vec<u8>),
}

fn decode_from<R: BufRead + Seek>(mut reader: R, path: &Path) -> Result<RgbImage, PhotoError> {
    let read_err = |e: std::io::Error| PhotoError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    };
    match main_jpeg(&mut reader).map_err(read_err)? {
        MainJpeg::NotJpeg => {}
        MainJpeg::Whole(jpeg) => return decode_image(std::io::Cursor::new(jpeg), path),
        MainJpeg::Cut => {
            return Err(PhotoError::Corrupt {
                path: path.to_owned(),
                message: "the JPEG data ends early (no end-of-image marker, or far less \
                          picture data than the size its header declares)"
                    .into(),
            });
        }
    }
    decode_image(reader, path)
}

/// Decodes a photo whose JPEG data (if it is one) has been checked.
fn decode_image<R: BufRead + Seek>(reader: R, path: &Path) -> Result<RgbImage, PhotoError> {
    let read_err = |e: std::io::Error| PhotoError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    };
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
        let n = inner.read(&mut head).map_err(read_err)?;
        return match heif_brand(&head[..n]) {
            Some(brand) if &brand == b"avif" || &brand == b"avis" => Err(PhotoError::Unsupported {
                path: path.to_owned(),
                hint: Some("AVIF photos are not supported yet; export the photo as JPEG".into()),
            }),
            Some(_) => {
                let extent = heif_extent(&mut inner).map_err(read_err)?;
                if extent > MAX_HEIF_BYTES {
                    return Err(PhotoError::Corrupt {
                        path: path.to_owned(),
                        message: format!(
                            "its HEIF boxes span {} MB; geolens reads HEIF files of at most {} MB",
                            extent / 1_000_000,
                            MAX_HEIF_BYTES / 1_000_000
                        ),
                    });
                }
                inner.rewind().map_err(read_err)?;
                let mut bytes = Vec::with_capacity(extent as usize);
                inner
                    .take(extent)
                    .read_to_end(&mut bytes)
                    .map_err(read_err)?;
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
    let bytes = decoder.total_bytes();
    if bytes > MAX_DECODE_BYTES {
        return Err(PhotoError::TooManyBytes {
            path: path.to_owned(),
            width,
            height,
            sample: sample_text(decoder.color_type()),
            bytes,
            max_bytes: MAX_DECODE_BYTES,
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    // To RGB first (the decoder's buffer is dropped), then turned: never two large copies of
    // a wide sample format at once.
    let rgb = DynamicImage::from_decoder(decoder)
        .map_err(corrupt)?
        .into_rgb8();
    let mut image = DynamicImage::ImageRgb8(rgb);
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

/// A decoder's sample layout in words, for the message of a photo too large to decode.
fn sample_text(color: image::ColorType) -> String {
    let bits = color.bytes_per_pixel() as u16 * 8 / color.channel_count() as u16;
    let float = matches!(color, image::ColorType::Rgb32F | image::ColorType::Rgba32F);
    let channels = match color.channel_count() {
        1 => "grey",
        2 => "grey and alpha",
        3 => "RGB",
        _ => "RGBA",
    };
    format!("{bits}-bit{} {channels}", if float { " float" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::super::jpeg::main_image_is_complete;
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

    /// A little-endian TIFF of `width` x `height`, `samples` channels of `bits` each
    /// (`format` 1 unsigned, 3 float), deflated, whose one strip is a few bytes: what its
    /// header declares is all the decoder sees before it would allocate.
    fn tiff_header(width: u32, height: u32, samples: u16, bits: u16, format: u16) -> Vec<u8> {
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes());
        let entries: [(u16, u16, u32, u32); 10] = [
            (256, 4, 1, width),
            (257, 4, 1, height),
            (258, 3, 1, u32::from(bits)),
            (259, 3, 1, 8),
            (262, 3, 1, 2),
            (273, 4, 1, 200),
            (277, 3, 1, u32::from(samples)),
            (278, 4, 1, height),
            (279, 4, 1, 16),
            (339, 3, 1, u32::from(format)),
        ];
        tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            tiff.extend_from_slice(&tag.to_le_bytes());
            tiff.extend_from_slice(&kind.to_le_bytes());
            tiff.extend_from_slice(&count.to_le_bytes());
            tiff.extend_from_slice(&value.to_le_bytes());
        }
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.resize(200, 0);
        tiff.extend_from_slice(&[0x78, 0x9c, 3, 0, 0, 0, 0, 1]);
        tiff.resize(216, 0);
        tiff
    }

    #[test]
    fn wide_samples_are_held_to_a_budget_in_bytes_not_only_pixels() {
        // Under the 100-megapixel cap, but 800 MB and 1.6 GB as decoded.
        for (bytes, name, sample, mb) in [
            (
                crate::testing::png_header(10_000, 10_000, 16, 6),
                "deep.png",
                "16-bit RGBA",
                "800 MB",
            ),
            (
                tiff_header(10_000, 10_000, 4, 32, 3),
                "float.tif",
                "32-bit float RGBA",
                "1600 MB",
            ),
            (
                tiff_header(9_000, 9_000, 3, 16, 1),
                "scan.tif",
                "16-bit RGB",
                "486 MB",
            ),
        ] {
            let err = decode_photo_bytes(&bytes, Path::new(name)).expect_err("over the budget");
            assert!(
                matches!(err, PhotoError::TooManyBytes { .. }),
                "{name}: {err}"
            );
            let text = err.to_string();
            assert!(
                text.contains(sample) && text.contains(mb) && text.contains("400 MB"),
                "{text}"
            );
        }
        // A 16-bit photo within the budget decodes, to the same picture as its 8-bit self.
        let png = decode_photo(&fixture("coffee.png")).expect("png");
        let deep = image::DynamicImage::ImageRgb8(png.clone()).into_rgba16();
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgba16(deep)
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .expect("encode");
        assert_eq!(
            decode_photo_bytes(&bytes, Path::new("16.png")).expect("decodes"),
            png
        );
    }

    #[test]
    fn a_padded_photo_is_read_only_as_far_as_its_image() {
        let dir = std::env::temp_dir().join(format!("geolens-padded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let heif_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heic");
        for (original, name) in [
            (fixture("rocket.jpg"), "padded.jpg"),
            (heif_dir.join("RGB_8__128x128.heif"), "padded.heic"),
        ] {
            let bytes = std::fs::read(&original).expect("fixture");
            let mut padded = bytes.clone();
            padded.resize(bytes.len() + (8 << 20), 0);
            let path = dir.join(name);
            std::fs::write(&path, &padded).expect("write");
            let plain = decode_photo(&original).expect("plain");
            assert_eq!(
                decode_photo(&path).expect("padded decodes"),
                plain,
                "{name}"
            );
            let meta = crate::photo::exif::metadata_bytes(&path).expect("metadata");
            assert!(
                meta.len() < 1 << 20 || !name.ends_with("jpg"),
                "{}",
                meta.len()
            );
            assert_eq!(
                crate::photo::exif::read_facts(&path),
                crate::photo::exif::read_facts(&original)
            );
        }
        // The HEIF reader stops at the end of the last box; a box past the end takes the rest.
        let heif = std::fs::read(heif_dir.join("RGB_8__128x128.heif")).expect("fixture");
        let mut padded = heif.clone();
        padded.resize(heif.len() + 4096, 0);
        let extent = heif_extent(&mut std::io::Cursor::new(&padded)).expect("walks");
        assert_eq!(extent, heif.len() as u64);
        let cut = &heif[..heif.len() - 100];
        assert_eq!(
            heif_extent(&mut std::io::Cursor::new(cut)).expect("walks"),
            cut.len() as u64
        );
        let _ = std::fs::remove_dir_all(&dir);
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
