//! Tracks the user recorded (GPX, KML, GeoJSON): timed positions, as exiftool and digiKam read
//! them for geotagging.

use std::path::Path;

use chrono::DateTime;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

use super::LibraryError;
use crate::geo::latlon::LatLonDeg;

/// Largest track file read (a day of one-second GPX points is about 20 MB).
const MAX_TRACK_BYTES: u64 = 256 << 20;

/// One timed position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    /// Seconds since 1970 (UTC).
    pub utc_s: i64,
    pub at: LatLonDeg,
}

/// A track's points, sorted by time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Track {
    pub name: String,
    pub points: Vec<TrackPoint>,
}

/// Reads a GPX, KML or GeoJSON track (by its contents, not its name). Points without a time
/// or with a position off the globe are left out; a file with no timed point is an error.
pub fn read_track(path: &Path) -> Result<Track, LibraryError> {
    let io = |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = crate::files::open_regular(path).map_err(io)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_TRACK_BYTES + 1),
        &mut bytes,
    )
    .map_err(io)?;
    let bad = |message: String| LibraryError::BadTrack {
        path: path.to_path_buf(),
        message,
    };
    if bytes.len() as u64 > MAX_TRACK_BYTES {
        return Err(bad(format!("larger than {} MB", MAX_TRACK_BYTES >> 20)));
    }
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let mut points = if trimmed.starts_with('{') {
        geojson_points(trimmed).map_err(bad)?
    } else {
        xml_points(trimmed).map_err(bad)?
    };
    points.retain(|p| {
        (-90.0..=90.0).contains(&p.at.lat_deg) && (-180.0..=180.0).contains(&p.at.lon_deg)
    });
    if points.is_empty() {
        return Err(bad("no timed points (GPX trkpt with <time>, KML gx:Track or TimeStamp, GeoJSON coordTimes)".into()));
    }
    points.sort_by_key(|p| p.utc_s);
    Ok(Track {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        points,
    })
}

/// An ISO 8601 / RFC 3339 time ("2024-04-01T09:30:00Z", "+02:00", fractions) as UTC seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// GPX `trkpt`, `rtept` and `wpt` with a `time`; KML `gx:Track` (`when` and `gx:coord` in
/// order) and placemarks with a `TimeStamp` and a `Point`.
fn xml_points(text: &str) -> Result<Vec<TrackPoint>, String> {
    let mut reader = Reader::from_str(text);
    let mut points = Vec::new();
    // GPX: the open point's position and time.
    let mut gpx_at: Option<LatLonDeg> = None;
    let mut gpx_time: Option<i64> = None;
    // KML: the times and coordinates of the open gx:Track, and the open placemark's.
    let (mut whens, mut coords): (Vec<i64>, Vec<LatLonDeg>) = (Vec::new(), Vec::new());
    let (mut mark_time, mut mark_at): (Option<i64>, Option<LatLonDeg>) = (None, None);
    let mut open: Vec<String> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if matches!(name.as_str(), "trkpt" | "rtept" | "wpt") {
                    let attr = |key: &[u8]| {
                        e.attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == key)
                            .and_then(|a| String::from_utf8_lossy(&a.value).trim().parse().ok())
                    };
                    gpx_at = attr(b"lat")
                        .zip(attr(b"lon"))
                        .map(|(lat_deg, lon_deg)| LatLonDeg { lat_deg, lon_deg });
                    gpx_time = None;
                }
                open.push(name);
            }
            Event::Text(t) => {
                let value = String::from_utf8_lossy(t.as_ref()).into_owned();
                let inside = |n: &str| open.iter().any(|o| o == n);
                match open.last().map(String::as_str) {
                    Some("time") if gpx_at.is_some() => gpx_time = parse_time(&value),
                    Some("when") if inside("Track") => whens.extend(parse_time(&value)),
                    Some("when") if inside("TimeStamp") => mark_time = parse_time(&value),
                    Some("coord") if inside("Track") => coords.extend(kml_coord(&value, ' ')),
                    Some("coordinates") if inside("Point") => mark_at = kml_coord(&value, ','),
                    _ => {}
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match name.as_str() {
                    "trkpt" | "rtept" | "wpt" => {
                        if let (Some(at), Some(utc_s)) = (gpx_at.take(), gpx_time.take()) {
                            points.push(TrackPoint { utc_s, at });
                        }
                    }
                    "Track" => {
                        points.extend(
                            whens
                                .drain(..)
                                .zip(coords.drain(..))
                                .map(|(utc_s, at)| TrackPoint { utc_s, at }),
                        );
                    }
                    "Placemark" => {
                        if let (Some(at), Some(utc_s)) = (mark_at.take(), mark_time.take()) {
                            points.push(TrackPoint { utc_s, at });
                        }
                    }
                    _ => {}
                }
                open.pop();
            }
            _ => {}
        }
    }
    Ok(points)
}

/// KML's "lon lat [alt]" (gx:coord) or "lon,lat[,alt]" (coordinates).
fn kml_coord(text: &str, separator: char) -> Option<LatLonDeg> {
    let mut parts = text
        .trim()
        .split(separator)
        .map(|p| p.trim().parse::<f64>());
    let lon_deg = parts.next()?.ok()?;
    let lat_deg = parts.next()?.ok()?;
    Some(LatLonDeg { lat_deg, lon_deg })
}

/// GeoJSON: LineString (or MultiLineString) features with `properties.coordTimes` (or
/// `times`), as GPS Visualizer and togeojson write them, and Point features with
/// `properties.time` (or `timestamp`).
fn geojson_points(text: &str) -> Result<Vec<TrackPoint>, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let features: Vec<&Value> = match root.get("features").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => vec![&root],
    };
    let position = |c: &Value| -> Option<LatLonDeg> {
        let c = c.as_array()?;
        Some(LatLonDeg {
            lat_deg: c.get(1)?.as_f64()?,
            lon_deg: c.first()?.as_f64()?,
        })
    };
    let mut points = Vec::new();
    for feature in features {
        let (Some(geometry), properties) = (feature.get("geometry"), feature.get("properties"))
        else {
            continue;
        };
        let property = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| properties.and_then(|p| p.get(*n)))
        };
        let coordinates = geometry.get("coordinates");
        match geometry.get("type").and_then(Value::as_str) {
            Some("Point") => {
                let time = property(&["time", "timestamp"])
                    .and_then(Value::as_str)
                    .and_then(parse_time);
                if let (Some(at), Some(utc_s)) = (coordinates.and_then(position), time) {
                    points.push(TrackPoint { utc_s, at });
                }
            }
            Some(kind @ ("LineString" | "MultiLineString")) => {
                let lines: Vec<&Value> = match (kind, coordinates.and_then(Value::as_array)) {
                    ("LineString", Some(_)) => coordinates.into_iter().collect(),
                    (_, Some(list)) => list.iter().collect(),
                    _ => Vec::new(),
                };
                let times = property(&["coordTimes", "times"]).and_then(Value::as_array);
                let times: Vec<&Value> = match (kind, times) {
                    ("LineString", Some(t)) => vec![t].into_iter().flat_map(|t| t.iter()).collect(),
                    (_, Some(t)) => t
                        .iter()
                        .flat_map(|line| line.as_array().into_iter().flatten())
                        .collect(),
                    _ => Vec::new(),
                };
                let coords = lines
                    .iter()
                    .flat_map(|line| line.as_array().into_iter().flatten());
                for (c, t) in coords.zip(times) {
                    if let (Some(at), Some(utc_s)) = (position(c), t.as_str().and_then(parse_time))
                    {
                        points.push(TrackPoint { utc_s, at });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<Track, LibraryError> {
        let dir = std::env::temp_dir().join(format!("geolens-track-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let track = read_track(&path);
        let _ = std::fs::remove_dir_all(&dir);
        track
    }

    fn summary(t: &Track) -> Vec<(i64, f64, f64)> {
        t.points
            .iter()
            .map(|p| (p.utc_s, p.at.lat_deg, p.at.lon_deg))
            .collect()
    }

    const T0: i64 = 1_711_963_800; // 2024-04-01T09:30:00Z

    #[test]
    fn gpx_kml_and_geojson_give_the_same_points() {
        let gpx = r#"<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
            <trkpt lat="48.85" lon="2.35"><ele>35</ele><time>2024-04-01T11:31:00+02:00</time></trkpt>
            <trkpt lat="48.8" lon="2.3"><time>2024-04-01T09:30:00Z</time></trkpt>
            <trkpt lat="1" lon="1"></trkpt>
            <trkpt lat="95" lon="1"><time>2024-04-01T09:32:00Z</time></trkpt>
        </trkseg></trk></gpx>"#;
        let kml = r#"<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Placemark><gx:Track>
            <when>2024-04-01T09:30:00Z</when><when>2024-04-01T09:31:00.5Z</when>
            <gx:coord>2.3 48.8 35</gx:coord><gx:coord>2.35 48.85 35</gx:coord>
        </gx:Track></Placemark></Document></kml>"#;
        let geojson = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"coordTimes":["2024-04-01T09:30:00Z","2024-04-01T09:31:00Z"]},
            "geometry":{"type":"LineString","coordinates":[[2.3,48.8,35],[2.35,48.85,35]]}}]}"#;
        let want = vec![(T0, 48.8, 2.3), (T0 + 60, 48.85, 2.35)];
        for (name, text) in [("a.gpx", gpx), ("a.kml", kml), ("a.geojson", geojson)] {
            let track = read(name, text).expect(name);
            assert_eq!(summary(&track), want, "{name}");
        }
        let placemarks = r#"<kml><Document>
            <Placemark><TimeStamp><when>2024-04-01T09:31:00Z</when></TimeStamp><Point><coordinates>2.35,48.85,0</coordinates></Point></Placemark>
            <Placemark><TimeStamp><when>2024-04-01T09:30:00Z</when></TimeStamp><Point><coordinates>2.3,48.8</coordinates></Point></Placemark>
        </Document></kml>"#;
        assert_eq!(
            summary(&read("p.kml", placemarks).expect("placemarks")),
            want
        );
    }

    #[test]
    fn a_file_without_timed_points_or_not_a_track_says_so() {
        for (name, text) in [
            (
                "empty.gpx",
                "<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"/></trkseg></trk></gpx>",
            ),
            ("bad.geojson", "{\"type\": "),
            ("bad.gpx", "<gpx><trk></gpx>"),
        ] {
            let err = read(name, text).expect_err(name);
            assert!(
                matches!(err, LibraryError::BadTrack { .. }) && err.to_string().contains(name),
                "{name}: {err}"
            );
        }
    }
}
