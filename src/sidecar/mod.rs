//! Keeping an answer where photo tools read it, without touching the photo: the position goes
//! into an XMP sidecar (`exif:GPSLatitude` / `exif:GPSLongitude` in XMP's "DDD,MM.mmmmmmN"
//! form) with a note of where it came from. An existing sidecar is parsed as XML and only those
//! fields are added (or, when asked, replaced): every other field, attribute, comment and
//! byte of layout stays as it was. Written atomically; a sidecar that cannot be parsed is left
//! alone.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{NsReader, Writer};
use thiserror::Error;

use crate::geo::latlon::LatLonDeg;

mod xmp;

pub use xmp::parse_xmp_coordinate;
use xmp::{EXIF_NS, GEOLENS_NS, attribute_field, element_field, existing_position, prefix_for};

#[derive(Debug, Error)]
pub enum SidecarError {
    #[error(
        "{path}: already holds a GPS position ({lat}, {lon}); left as it is (replace it with --replace-gps)"
    )]
    HasPosition {
        path: PathBuf,
        lat: String,
        lon: String,
    },
    #[error("{path}: not an XMP sidecar geolens can read ({message}); left as it is")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path}: has no rdf:Description to add the position to; left as it is")]
    NoDescription { path: PathBuf },
    #[error("{path}: its sidecar would be the photo itself; left as it is")]
    IsThePhoto { path: PathBuf },
    #[error("{path}: the sidecar is read-only; left as it is")]
    ReadOnly { path: PathBuf },
    #[error(
        "{path}: the sidecar has {links} hard links (the same file under other names); left as it is"
    )]
    HardLinked { path: PathBuf, links: u64 },
    #[error(transparent)]
    Output(#[from] crate::files::OutputError),
}

/// How the user's photo organiser names sidecars.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
pub enum SidecarNaming {
    /// `IMG_1234.xmp` (digiKam, Lightroom).
    #[default]
    #[value(name = "digikam")]
    ReplaceExtension,
    /// `IMG_1234.JPG.xmp` (darktable).
    #[value(name = "darktable")]
    AppendExtension,
}

/// Where the sidecar of `photo` lives.
pub fn sidecar_path(photo: &Path, naming: SidecarNaming) -> PathBuf {
    match naming {
        SidecarNaming::ReplaceExtension => photo.with_extension("xmp"),
        SidecarNaming::AppendExtension => {
            let mut name = photo.as_os_str().to_owned();
            name.push(".xmp");
            PathBuf::from(name)
        }
    }
}

/// A coordinate in XMP's GPS form: degrees, decimal minutes and the hemisphere letter
/// ("35,0.684000N").
pub fn xmp_coordinate(value_deg: f64, positive: char, negative: char) -> String {
    let hemisphere = if value_deg < 0.0 { negative } else { positive };
    let abs = value_deg.abs();
    let degrees = abs.trunc();
    format!(
        "{},{:.6}{hemisphere}",
        degrees as u32,
        (abs - degrees) * 60.0
    )
}

/// The position the sidecar of `photo` holds, if it has one (either naming).
pub fn sidecar_position(photo: &Path) -> Option<(LatLonDeg, PathBuf)> {
    [
        SidecarNaming::ReplaceExtension,
        SidecarNaming::AppendExtension,
    ]
    .into_iter()
    .find_map(|naming| {
        let path = sidecar_path(photo, naming);
        let bytes = crate::files::read_regular(&path).ok()?;
        xmp_position(&bytes).map(|at| (at, path))
    })
}

/// The GPS position an XMP packet holds (a sidecar, or the packet a photo embeds), if it holds
/// a valid one.
pub fn xmp_position(xml: &[u8]) -> Option<LatLonDeg> {
    let (lat, lon) = existing_position(xml).ok()??;
    let at = LatLonDeg {
        lat_deg: parse_xmp_coordinate(&lat)?,
        lon_deg: parse_xmp_coordinate(&lon)?,
    };
    ((-90.0..=90.0).contains(&at.lat_deg) && (-180.0..=180.0).contains(&at.lon_deg)).then_some(at)
}

/// The XMP packet a photo's bytes embed (`<x:xmpmeta …>…</x:xmpmeta>`), if any.
pub fn embedded_xmp(bytes: &[u8]) -> Option<&[u8]> {
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let start = find(bytes, b"<x:xmpmeta")?;
    let end_tag = b"</x:xmpmeta>";
    let end = start + find(&bytes[start..], end_tag)? + end_tag.len();
    Some(&bytes[start..end])
}

/// What [`write_position`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Created(PathBuf),
    Updated(PathBuf),
}

/// Writes `at` into the sidecar of `photo` (created when there is none), with `source` saying
/// where the position came from. A sidecar that already has a position is left alone unless
/// `replace_gps`. The photo itself is never opened for writing.
pub fn write_position(
    photo: &Path,
    naming: SidecarNaming,
    at: LatLonDeg,
    source: &str,
    replace_gps: bool,
) -> Result<Written, SidecarError> {
    let path = sidecar_path(photo, naming);
    if path == photo {
        return Err(SidecarError::IsThePhoto { path });
    }
    let fields = Fields::new(at, source);
    let mode = kept_mode(&path)?;
    let existing = match crate::files::read_regular(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(SidecarError::Unreadable {
                path,
                message: e.to_string(),
            });
        }
    };
    let (bytes, written) = match existing {
        None => (
            new_sidecar(&fields).into_bytes(),
            Written::Created(path.clone()),
        ),
        Some(old) => (
            updated_sidecar(&path, &old, &fields, replace_gps)?,
            Written::Updated(path.clone()),
        ),
    };
    crate::files::write_output_with(&path, true, mode, |out| out.write_all(&bytes))?;
    Ok(written)
}

/// `old` (a sidecar's bytes) with `at` set as [`write_position`] would write it, without
/// touching any file: the fuzz target's way in.
pub fn rewritten(
    old: &[u8],
    at: LatLonDeg,
    source: &str,
    replace_gps: bool,
) -> Result<Vec<u8>, SidecarError> {
    let fields = Fields::new(at, source);
    updated_sidecar(Path::new("sidecar.xmp"), old, &fields, replace_gps)
}

/// The permissions an existing sidecar keeps when it is rewritten (`None`: there is none). A
/// read-only sidecar, or one hard-linked under other names (rewriting would break the link),
/// is refused.
fn kept_mode(path: &Path) -> Result<Option<std::fs::Permissions>, SidecarError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => meta,
        _ => return Ok(None),
    };
    if meta.permissions().readonly() {
        return Err(SidecarError::ReadOnly {
            path: path.to_owned(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return Err(SidecarError::HardLinked {
                path: path.to_owned(),
                links: meta.nlink(),
            });
        }
    }
    Ok(Some(meta.permissions()))
}

/// The three values geolens writes.
struct Fields {
    lat: String,
    lon: String,
    source: String,
}

impl Fields {
    fn new(at: LatLonDeg, source: &str) -> Self {
        Self {
            lat: xmp_coordinate(at.lat_deg, 'N', 'S'),
            lon: xmp_coordinate(at.lon_deg, 'E', 'W'),
            source: source.to_string(),
        }
    }
}

/// A new sidecar holding only the position and its source.
fn new_sidecar(f: &Fields) -> String {
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n \
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  \
         <rdf:Description rdf:about=\"\"\n    xmlns:exif=\"{EXIF_NS}\"\n    \
         xmlns:geolens=\"{GEOLENS_NS}\"\n    exif:GPSLatitude=\"{}\"\n    \
         exif:GPSLongitude=\"{}\"\n    geolens:LocationSource=\"{}\"/>\n \
         </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>\n",
        f.lat,
        f.lon,
        escape(&f.source)
    )
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// `old` with the position set on its first `rdf:Description`: every other event is copied
/// as read. Existing GPS fields (attributes or elements, under whatever prefix binds their
/// namespace) stop it unless `replace_gps`, and are dropped when replaced.
fn updated_sidecar(
    path: &Path,
    old: &[u8],
    fields: &Fields,
    replace_gps: bool,
) -> Result<Vec<u8>, SidecarError> {
    let unreadable = |message: String| SidecarError::Unreadable {
        path: path.to_owned(),
        message,
    };
    if let Some((lat, lon)) = existing_position(old).map_err(unreadable)?
        && !replace_gps
    {
        return Err(SidecarError::HasPosition {
            path: path.to_owned(),
            lat,
            lon,
        });
    }
    let mut reader = NsReader::from_reader(old);
    let mut writer = Writer::new(Cursor::new(Vec::new()));
    let mut buf = Vec::new();
    let mut done = false;
    // Depth inside a GPS element being dropped (it is replaced by attributes).
    let mut skipping = 0usize;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| unreadable(e.to_string()))?;
        let keep = match &event {
            Event::Eof => break,
            _ if skipping > 0 => {
                match &event {
                    Event::Start(_) => skipping += 1,
                    Event::End(_) => skipping -= 1,
                    _ => {}
                }
                None
            }
            Event::Start(e) | Event::Empty(e) if element_field(&reader, e.name()).is_some() => {
                if matches!(event, Event::Start(_)) {
                    skipping = 1;
                }
                None
            }
            Event::Start(e) | Event::Empty(e) => {
                let first = !done && xmp::is_description(&reader, e.name());
                done |= first;
                let tag = without_gps(&reader, e, first.then_some(fields));
                Some(match (&event, tag) {
                    (_, None) => event.clone(),
                    (Event::Start(_), Some(tag)) => Event::Start(tag),
                    (_, Some(tag)) => Event::Empty(tag),
                })
            }
            other => Some(other.clone()),
        };
        if let Some(event) = keep {
            writer
                .write_event(event)
                .map_err(|e| unreadable(e.to_string()))?;
        }
        buf.clear();
    }
    if !done {
        return Err(SidecarError::NoDescription {
            path: path.to_owned(),
        });
    }
    Ok(writer.into_inner().into_inner())
}

/// The start tag without its GPS attributes and, for the description that takes the
/// position, with it (and its namespaces) set; `None` where the tag stays as read.
fn without_gps<R>(
    reader: &NsReader<R>,
    start: &BytesStart,
    position: Option<&Fields>,
) -> Option<BytesStart<'static>> {
    let has_gps = start
        .attributes()
        .flatten()
        .any(|a| attribute_field(reader, a.key).is_some());
    if !has_gps && position.is_none() {
        return None;
    }
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut out = BytesStart::new(name);
    for attr in start.attributes().flatten() {
        if attribute_field(reader, attr.key).is_none() {
            out.push_attribute(attr);
        }
    }
    if let Some(f) = position {
        let (exif, declare_exif) = prefix_for(reader, EXIF_NS, "exif");
        let (geolens, declare_geolens) = prefix_for(reader, GEOLENS_NS, "geolens");
        if declare_exif {
            out.push_attribute((format!("xmlns:{exif}").as_str(), EXIF_NS));
        }
        if declare_geolens {
            out.push_attribute((format!("xmlns:{geolens}").as_str(), GEOLENS_NS));
        }
        out.push_attribute((format!("{exif}:GPSLatitude").as_str(), f.lat.as_str()));
        out.push_attribute((format!("{exif}:GPSLongitude").as_str(), f.lon.as_str()));
        out.push_attribute((
            format!("{geolens}:LocationSource").as_str(),
            f.source.as_str(),
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kyoto() -> LatLonDeg {
        LatLonDeg {
            lat_deg: 35.0114,
            lon_deg: 135.7681,
        }
    }

    #[test]
    fn a_folder_that_cannot_be_written_or_a_sidecar_that_is_not_a_file_loses_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("geolens-xmp-ro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let photo = dir.join("IMG_2.JPG");
        std::fs::write(&photo, b"photo bytes").expect("photo");
        // A "sidecar" that is a folder: a clear message, nothing written.
        std::fs::create_dir_all(dir.join("IMG_2.xmp")).expect("folder");
        let err = write_position(&photo, SidecarNaming::ReplaceExtension, kyoto(), "g", true)
            .expect_err("a folder is no sidecar")
            .to_string();
        assert!(
            err.contains("IMG_2.xmp") && err.contains("left as it is"),
            "{err}"
        );
        // A read-only folder (root may write there anyway: then there is nothing to check).
        let ro = dir.join("ro");
        std::fs::create_dir_all(&ro).expect("ro");
        let ro_photo = ro.join("IMG_3.JPG");
        std::fs::write(&ro_photo, b"photo bytes").expect("photo");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        if std::fs::write(ro.join("probe"), b"").is_ok() {
            println!("skipped the read-only folder check: this user writes anywhere (root)");
        } else {
            let err = write_position(
                &ro_photo,
                SidecarNaming::ReplaceExtension,
                kyoto(),
                "g",
                false,
            )
            .expect_err("read-only")
            .to_string();
            assert!(err.contains("IMG_3.xmp"), "{err}");
            assert_eq!(std::fs::read(&ro_photo).expect("photo"), b"photo bytes");
            assert!(!ro.join("IMG_3.xmp").exists());
        }
        let _ = std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_sidecar_keeps_its_mode_and_a_read_only_or_hard_linked_one_is_left_alone() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("geolens-xmp-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let write = |name: &str| {
            let photo = dir.join(format!("{name}.JPG"));
            std::fs::write(&photo, b"photo").expect("photo");
            write_position(&photo, SidecarNaming::ReplaceExtension, kyoto(), "g", true)
        };
        let mode = |name: &str| {
            std::fs::metadata(dir.join(format!("{name}.xmp")))
                .expect("sidecar")
                .permissions()
                .mode()
                & 0o777
        };
        // A private sidecar stays private.
        std::fs::write(dir.join("A.xmp"), "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\"/></rdf:RDF></x:xmpmeta>").expect("a");
        std::fs::set_permissions(dir.join("A.xmp"), std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        write("A").expect("written");
        assert_eq!(mode("A"), 0o600);
        assert!(
            std::fs::read_to_string(dir.join("A.xmp"))
                .expect("read")
                .contains("GPSLatitude")
        );
        // A read-only one is left alone, whoever runs it.
        std::fs::copy(dir.join("A.xmp"), dir.join("B.xmp")).expect("b");
        std::fs::set_permissions(dir.join("B.xmp"), std::fs::Permissions::from_mode(0o444))
            .expect("chmod");
        let before = std::fs::read(dir.join("B.xmp")).expect("read");
        let err = write("B").expect_err("read-only");
        assert!(matches!(err, SidecarError::ReadOnly { .. }), "{err}");
        assert_eq!(std::fs::read(dir.join("B.xmp")).expect("read"), before);
        // A hard-linked one is left alone: the link stays one file.
        std::fs::copy(dir.join("A.xmp"), dir.join("C.xmp")).expect("c");
        std::fs::hard_link(dir.join("C.xmp"), dir.join("elsewhere.xmp")).expect("link");
        let err = write("C").expect_err("hard-linked");
        assert!(
            matches!(err, SidecarError::HardLinked { links: 2, .. }),
            "{err}"
        );
        assert_eq!(
            std::fs::metadata(dir.join("C.xmp")).expect("c").ino(),
            std::fs::metadata(dir.join("elsewhere.xmp"))
                .expect("e")
                .ino()
        );
        let _ = std::fs::set_permissions(dir.join("B.xmp"), std::fs::Permissions::from_mode(0o644));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_photo_named_like_its_own_sidecar_is_never_written() {
        let dir = std::env::temp_dir().join(format!("geolens-xmp-self-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let photo = dir.join("photo.xmp");
        std::fs::write(&photo, b"II*\0 a TIFF photo").expect("photo");
        let err = write_position(
            &photo,
            SidecarNaming::ReplaceExtension,
            kyoto(),
            "test",
            true,
        )
        .expect_err("refused");
        assert!(matches!(err, SidecarError::IsThePhoto { .. }), "{err}");
        assert_eq!(std::fs::read(&photo).expect("read"), b"II*\0 a TIFF photo");
        // The other naming is a different file, and is written.
        let written = write_position(
            &photo,
            SidecarNaming::AppendExtension,
            kyoto(),
            "test",
            false,
        )
        .expect("written");
        assert_eq!(written, Written::Created(dir.join("photo.xmp.xmp")));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn coordinates_take_xmps_degrees_and_minutes_form() {
        assert_eq!(xmp_coordinate(35.0114, 'N', 'S'), "35,0.684000N");
        assert_eq!(xmp_coordinate(-22.9, 'N', 'S'), "22,54.000000S");
        assert_eq!(xmp_coordinate(-43.17, 'E', 'W'), "43,10.200000W");
        assert_eq!(parse_xmp_coordinate("22,54.000000S"), Some(-22.9));
        assert_eq!(parse_xmp_coordinate("35.5"), Some(35.5));
        assert_eq!(parse_xmp_coordinate("35,1X"), None);
        assert_eq!(
            sidecar_path(Path::new("/p/IMG_1.JPG"), SidecarNaming::ReplaceExtension),
            Path::new("/p/IMG_1.xmp")
        );
        assert_eq!(
            sidecar_path(Path::new("/p/IMG_1.JPG"), SidecarNaming::AppendExtension),
            Path::new("/p/IMG_1.JPG.xmp")
        );
    }

    #[test]
    fn an_existing_sidecar_keeps_everything_else_and_its_position_unless_asked() {
        let dir = std::env::temp_dir().join(format!("geolens-xmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let photo = dir.join("IMG_1.JPG");
        std::fs::write(&photo, b"photo bytes").expect("photo");
        let digikam = "<?xml version=\"1.0\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
            <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
            <!-- edited by hand -->\n\
            <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" \
            xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmp:Rating=\"4\">\n\
            <dc:subject><rdf:Bag><rdf:li>trip</rdf:li><rdf:li>Kyoto &amp; Nara</rdf:li></rdf:Bag></dc:subject>\n\
            </rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n";
        let sidecar = dir.join("IMG_1.xmp");
        std::fs::write(&sidecar, digikam).expect("sidecar");
        let written = write_position(
            &photo,
            SidecarNaming::ReplaceExtension,
            kyoto(),
            "geolens 0.1.0",
            false,
        )
        .expect("written");
        assert_eq!(written, Written::Updated(sidecar.clone()));
        let text = std::fs::read_to_string(&sidecar).expect("read");
        for kept in [
            "<!-- edited by hand -->",
            "xmp:Rating=\"4\"",
            "<rdf:li>Kyoto &amp; Nara</rdf:li>",
        ] {
            assert!(text.contains(kept), "{kept} lost:\n{text}");
        }
        assert!(text.contains("exif:GPSLatitude=\"35,0.684000N\""), "{text}");
        assert!(
            text.contains("exif:GPSLongitude=\"135,46.086000E\""),
            "{text}"
        );
        assert_eq!(std::fs::read(&photo).expect("photo"), b"photo bytes");
        // A second write would overwrite a position: refused, file unchanged.
        let err = write_position(
            &photo,
            SidecarNaming::ReplaceExtension,
            LatLonDeg {
                lat_deg: 0.0,
                lon_deg: 0.0,
            },
            "by hand",
            false,
        )
        .expect_err("has a position");
        assert!(err.to_string().contains("--replace-gps"), "{err}");
        assert_eq!(std::fs::read_to_string(&sidecar).expect("read"), text);
        // Asked to: replaced, one position only.
        write_position(
            &photo,
            SidecarNaming::ReplaceExtension,
            LatLonDeg {
                lat_deg: -22.9,
                lon_deg: -43.17,
            },
            "set by hand",
            true,
        )
        .expect("replaced");
        let replaced = std::fs::read_to_string(&sidecar).expect("read");
        assert_eq!(
            replaced.matches("exif:GPSLatitude=").count(),
            1,
            "{replaced}"
        );
        assert!(replaced.contains("22,54.000000S") && replaced.contains("set by hand"));
        // A broken sidecar is left alone.
        std::fs::write(&sidecar, "<x:xmpmeta><rdf:Description></x:xmpmeta").expect("broken");
        let err = write_position(&photo, SidecarNaming::ReplaceExtension, kyoto(), "g", true)
            .expect_err("broken");
        assert!(err.to_string().contains("left as it is"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&sidecar).expect("read"),
            "<x:xmpmeta><rdf:Description></x:xmpmeta"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_position_under_another_prefix_is_seen_and_replaced_not_doubled() {
        let dir = std::env::temp_dir().join(format!("geolens-xmp-ns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let photo = dir.join("DSC_2.NEF");
        std::fs::write(&photo, b"raw bytes").expect("photo");
        let sidecar = dir.join("DSC_2.xmp");
        let old = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:Rating=\"2\"/>\
             <rdf:Description rdf:about=\"\" xmlns:ex=\"{EXIF_NS}\" ex:GPSLatitude=\"48,51,24N\" \
             ex:ExposureTime=\"1/250\"><ex:GPSLongitude>2,21,3E</ex:GPSLongitude></rdf:Description>\
             </rdf:RDF></x:xmpmeta>"
        );
        std::fs::write(&sidecar, &old).expect("sidecar");
        let at = sidecar_position(&photo).expect("read under ex:").0;
        assert!((at.lat_deg - (48.0 + 51.0 / 60.0 + 24.0 / 3600.0)).abs() < 1e-9);
        let err = write_position(&photo, SidecarNaming::ReplaceExtension, kyoto(), "g", false)
            .expect_err("already has one");
        assert!(matches!(err, SidecarError::HasPosition { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&sidecar).expect("read"), old);
        write_position(
            &photo,
            SidecarNaming::ReplaceExtension,
            kyoto(),
            "a & b",
            true,
        )
        .expect("replaced");
        let text = std::fs::read_to_string(&sidecar).expect("read");
        assert_eq!(text.matches("GPSLatitude").count(), 1, "{text}");
        assert_eq!(text.matches("GPSLongitude").count(), 1, "{text}");
        for kept in ["xmp:Rating=\"2\"", "ex:ExposureTime=\"1/250\"", "a &amp; b"] {
            assert!(text.contains(kept), "{kept} lost:\n{text}");
        }
        let at = sidecar_position(&photo).expect("new position").0;
        assert!((at.lat_deg - kyoto().lat_deg).abs() < 1e-6, "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_prefix_taken_by_another_namespace_is_not_reused_for_gps() {
        let rdf = "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"";
        for old in [
            // `exif:` on the description itself names something else: GPS goes under `exif1:`.
            format!(
                "<rdf:RDF {rdf}><rdf:Description xmlns:exif=\"urn:other\" exif:GPSLatitude=\"x\"/></rdf:RDF>"
            ),
            // `exif:` bound to something else above it: redeclared on the description.
            format!(
                "<rdf:RDF {rdf} xmlns:exif=\"urn:other\"><rdf:Description exif:Note=\"keep\"/></rdf:RDF>"
            ),
        ] {
            let out = rewritten(old.as_bytes(), kyoto(), "s", false).expect("no GPS there yet");
            let text = String::from_utf8(out.clone()).expect("utf-8");
            let at = xmp_position(&out).expect("reads back");
            assert!((at.lat_deg - kyoto().lat_deg).abs() < 1e-6, "{text}");
            assert!(text.contains("\"urn:other\""), "{text}");
            assert!(quick_xml::Reader::from_str(&text).read_event().is_ok());
        }
    }
}
