//! Answers written out for other tools: one point per photo (the location the user set, or
//! the model's best guess) with its probability, place and certainty, as GeoJSON, GPX
//! waypoints, KML or CSV.

use std::io::Write;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::geo::latlon::LatLonDeg;

/// One photo's exported location.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    /// The photo's file name, to show.
    pub name: String,
    /// The photo's path, where it has one: written so that it names the file exactly
    /// ([`crate::files::path_text`]; a `file://` link in GPX).
    pub path: Option<PathBuf>,
    pub at: LatLonDeg,
    /// "camera" for the photo's own GPS, "set" for a location the user set (or a sidecar
    /// holds), "predicted" for the model's best guess.
    pub kind: &'static str,
    /// Where a set location came from, or the model's most likely place.
    pub note: String,
    /// The probability of the model's most likely place.
    pub top_place_probability: Option<f64>,
    /// Area of the 90 % credible region.
    pub region90_area_km2: Option<f64>,
    pub localizability: Option<f64>,
}

impl ExportRow {
    /// The row of one photo: its position (`kind` "set" or "predicted", with a note), and
    /// from its answer the most likely place's probability, the 90 % region and the
    /// localizability.
    pub fn new(
        (name, path): (String, Option<&Path>),
        (at, kind, note): (LatLonDeg, &'static str, String),
        top: Option<&crate::predict::PlaceGuess>,
        regions: &[crate::predict::CredibleRegion],
        localizability: Option<f64>,
    ) -> Self {
        Self {
            name,
            path: path.map(Path::to_path_buf),
            at,
            kind,
            note,
            top_place_probability: top.map(|p| p.probability),
            region90_area_km2: regions.iter().find(|r| r.mass >= 0.9).map(|r| r.area_km2),
            localizability,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default, clap::ValueEnum,
)]
pub enum ExportFormat {
    #[default]
    #[value(name = "geojson")]
    GeoJson,
    Gpx,
    Kml,
    Csv,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [Self::GeoJson, Self::Gpx, Self::Kml, Self::Csv];

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::GeoJson => "geojson",
            Self::Gpx => "gpx",
            Self::Kml => "kml",
            Self::Csv => "csv",
        }
    }
}

/// Writes `rows` in `format`.
pub fn write_export(
    rows: &[ExportRow],
    format: ExportFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        ExportFormat::GeoJson => geojson(rows, out),
        ExportFormat::Gpx => gpx(rows, out),
        ExportFormat::Kml => kml(rows, out),
        ExportFormat::Csv => csv(rows, out),
    }
}

fn geojson(rows: &[ExportRow], out: &mut dyn Write) -> std::io::Result<()> {
    let features: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [r.at.lon_deg, r.at.lat_deg] },
                "properties": {
                    "name": r.name,
                    "path": r.path.as_deref().map(crate::files::path_text),
                    "kind": r.kind,
                    "note": r.note,
                    "top_place_probability": r.top_place_probability,
                    "region90_area_km2": r.region90_area_km2,
                    "localizability": r.localizability,
                },
            })
        })
        .collect();
    let doc = serde_json::json!({ "type": "FeatureCollection", "features": features });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// `text` as XML 1.0 character data: escaped, and the characters XML cannot hold at all (C0
/// controls other than tab and line ends, U+FFFE, U+FFFF), which a file name may contain,
/// written as `\u{1b}` so that the file stays well-formed and the name can be told.
fn xml(text: &str) -> String {
    let allowed = |c: char| match c {
        '\t' | '\n' | '\r' => true,
        '\u{FFFE}' | '\u{FFFF}' => false,
        c => (c as u32) >= 0x20,
    };
    let visible: String = text
        .chars()
        .map(|c| {
            if allowed(c) {
                c.to_string()
            } else {
                format!("\\u{{{:x}}}", c as u32)
            }
        })
        .collect();
    quick_xml::escape::escape(&visible).into_owned()
}

/// `path` as a `file://` URL: every byte but unreserved characters and `/` percent-encoded,
/// so that a name that is not UTF-8 survives too. A relative path is made absolute first.
fn file_url(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(absolute.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = absolute.to_string_lossy().replace('\\', "/").into_bytes();
    let mut url = String::from("file://");
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// A line of words about a row, for GPX and KML descriptions.
fn description(r: &ExportRow) -> String {
    let mut parts = vec![format!("{}: {}", r.kind, r.note)];
    if let Some(p) = r.top_place_probability {
        parts.push(format!("most likely place {}", crate::scores::percent(p)));
    }
    if let Some(a) = r.region90_area_km2 {
        parts.push(format!("90 % region {}", crate::scores::area_text(a)));
    }
    parts.join("; ")
}

fn gpx(rows: &[ExportRow], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<gpx version=\"1.1\" creator=\"geolens {}\" xmlns=\"http://www.topografix.com/GPX/1/1\">",
        env!("CARGO_PKG_VERSION")
    )?;
    for r in rows {
        writeln!(
            out,
            "  <wpt lat=\"{:.7}\" lon=\"{:.7}\"><name>{}</name><desc>{}</desc>{}</wpt>",
            r.at.lat_deg,
            r.at.lon_deg,
            xml(&r.name),
            xml(&description(r)),
            r.path
                .as_deref()
                .map(|p| format!("<link href=\"{}\"/>", xml(&file_url(p))))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "</gpx>")
}

fn kml(rows: &[ExportRow], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document>"
    )?;
    writeln!(out, "  <name>geolens {}</name>", env!("CARGO_PKG_VERSION"))?;
    for r in rows {
        writeln!(
            out,
            "  <Placemark><name>{}</name><description>{}</description>{}\
             <Point><coordinates>{:.7},{:.7}</coordinates></Point></Placemark>",
            xml(&r.name),
            xml(&description(r)),
            r.path
                .as_deref()
                .map(|p| format!(
                    "<ExtendedData><Data name=\"path\"><value>{}</value></Data></ExtendedData>",
                    xml(&crate::files::path_text(p))
                ))
                .unwrap_or_default(),
            r.at.lon_deg,
            r.at.lat_deg
        )?;
    }
    writeln!(out, "</Document></kml>")
}

fn csv(rows: &[ExportRow], out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "name",
        "path",
        "lat_deg",
        "lon_deg",
        "kind",
        "note",
        "top_place_probability",
        "region90_area_km2",
        "localizability",
    ])?;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        w.write_record([
            r.name.clone(),
            r.path
                .as_deref()
                .map(crate::files::path_text)
                .unwrap_or_default(),
            r.at.lat_deg.to_string(),
            r.at.lon_deg.to_string(),
            r.kind.to_string(),
            r.note.clone(),
            opt(r.top_place_probability),
            opt(r.region90_area_km2),
            opt(r.localizability),
        ])?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<ExportRow> {
        vec![
            ExportRow {
                name: "IMG_1 <a&b>.jpg".into(),
                path: Some(PathBuf::from("/photos/trip/IMG_1 <a&b>.jpg")),
                at: LatLonDeg {
                    lat_deg: 35.0114,
                    lon_deg: 135.7681,
                },
                kind: "predicted",
                note: "Kyoto, Japan".into(),
                top_place_probability: Some(0.12),
                region90_area_km2: Some(2.1e6),
                localizability: Some(0.4),
            },
            ExportRow {
                name: "IMG_2.jpg".into(),
                path: None,
                at: LatLonDeg {
                    lat_deg: -22.9,
                    lon_deg: -43.17,
                },
                kind: "set",
                note: "set by hand".into(),
                top_place_probability: None,
                region90_area_km2: None,
                localizability: None,
            },
        ]
    }

    fn text(format: ExportFormat) -> String {
        let mut out = Vec::new();
        write_export(&rows(), format, &mut out).expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn names_with_control_characters_leave_gpx_and_kml_well_formed() {
        let mut rows = rows();
        rows[0].name = "IMG\u{1}\u{1b}[31m<x>.jpg".into();
        for format in [ExportFormat::Gpx, ExportFormat::Kml] {
            let mut out = Vec::new();
            write_export(&rows, format, &mut out).expect("write");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("IMG\\u{1}\\u{1b}[31m&lt;x&gt;.jpg"), "{text}");
            let mut reader = quick_xml::Reader::from_str(&text);
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(quick_xml::events::Event::Text(t)) => {
                        assert!(!t.iter().any(|b| *b < 0x20 && !b"\t\n\r".contains(b)));
                    }
                    Ok(_) => {}
                    Err(e) => panic!("{format:?} not well-formed: {e}"),
                }
            }
        }
    }

    #[test]
    fn every_format_holds_every_point_in_its_own_axis_order() {
        let geojson: serde_json::Value =
            serde_json::from_str(&text(ExportFormat::GeoJson)).expect("json");
        let coords = &geojson["features"][0]["geometry"]["coordinates"];
        assert_eq!(coords[0], 135.7681, "GeoJSON is lon, lat");
        assert_eq!(geojson["features"][1]["properties"]["kind"], "set");
        let gpx = text(ExportFormat::Gpx);
        assert!(
            gpx.contains("<wpt lat=\"35.0114000\" lon=\"135.7681000\">"),
            "{gpx}"
        );
        assert!(gpx.contains("IMG_1 &lt;a&amp;b&gt;.jpg"), "escaped: {gpx}");
        let kml = text(ExportFormat::Kml);
        assert!(
            kml.contains("<coordinates>-43.1700000,-22.9000000</coordinates>"),
            "{kml}"
        );
        let csv = text(ExportFormat::Csv);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(&records[1][2], "-22.9");
        assert_eq!(&records[0][1], "/photos/trip/IMG_1 <a&b>.jpg");
        // Both XML formats parse.
        for doc in [gpx, kml] {
            let mut reader = quick_xml::Reader::from_str(&doc);
            loop {
                match reader.read_event().expect("well-formed") {
                    quick_xml::events::Event::Eof => break,
                    _ => continue,
                }
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn rows_carry_the_whole_path_even_one_that_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(
            b"/photos/caf\xe9 & bar/IMG_1.jpg",
        ));
        let mut rows = rows();
        rows[0].path = Some(path.to_path_buf());
        let write = |format| {
            let mut out = Vec::new();
            write_export(&rows, format, &mut out).expect("write");
            String::from_utf8(out).expect("utf-8")
        };
        let geojson: serde_json::Value =
            serde_json::from_str(&write(ExportFormat::GeoJson)).expect("json");
        let text = geojson["features"][0]["properties"]["path"]
            .as_str()
            .expect("path");
        assert_eq!(crate::files::path_from_text(text), path);
        assert!(geojson["features"][1]["properties"]["path"].is_null());
        let csv = write(ExportFormat::Csv);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let first = reader.records().next().expect("row").expect("row");
        assert_eq!(crate::files::path_from_text(&first[1]), path);
        let gpx = write(ExportFormat::Gpx);
        assert!(
            gpx.contains("<link href=\"file:///photos/caf%E9%20%26%20bar/IMG_1.jpg\"/>"),
            "{gpx}"
        );
        let kml = write(ExportFormat::Kml);
        assert!(
            kml.contains("<Data name=\"path\"><value>/photos/caf\\xe9 &amp; bar/IMG_1.jpg</value>"),
            "{kml}"
        );
    }
}
