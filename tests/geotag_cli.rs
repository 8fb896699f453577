//! `geolens geotag` on a library the test makes: a phone with GPS and a camera without, whose
//! clock runs an hour and 20 s ahead, walking one route; a GPX track over the last part of the
//! walk; a photo whose position is only in its embedded XMP and one whose position is only in
//! its sidecar. Every proposal is checked against the route in metres.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use geolens::sidecar::xmp_coordinate;
use geolens::testing::{TestExif, dms, jpeg_with_exif, test_exif};

fn base_jpeg() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg"))
        .expect("fixture")
}

fn with_xmp(jpeg: &[u8], lat_deg: f64, lon_deg: f64) -> Vec<u8> {
    let packet = format!(
        "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
         xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" \
         xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:GPSLatitude=\"{}\" \
         exif:GPSLongitude=\"{}\"/></rdf:RDF></x:xmpmeta>",
        xmp_coordinate(lat_deg, 'N', 'S'),
        xmp_coordinate(lon_deg, 'E', 'W')
    );
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((packet.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(packet.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

struct Library {
    dir: PathBuf,
    track: PathBuf,
    /// Camera photos without a position: file name and the minute of the walk it was taken.
    camera_photos: Vec<(String, u32)>,
}

fn library(name: &str) -> Library {
    let root = common::scratch_dir(name);
    let dir = root.join("photos");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let jpeg = base_jpeg();
    let write = |file: &str, bytes: Vec<u8>| std::fs::write(dir.join(file), bytes).expect("write");
    for minute in [0, 10, 20, 40] {
        let (lat, lon) = common::walk_position(f64::from(minute));
        let exif = test_exif(&TestExif {
            make: "Google",
            model: "Pixel 8",
            gps: Some((dms(lat, b'N', b'S'), dms(lon, b'E', b'W'))),
            taken_at: &common::walk_clock(minute, 0),
            utc_offset: Some("+02:00"),
        });
        write(
            &format!("PXL_{minute:02}.jpg"),
            jpeg_with_exif(&jpeg, &exif),
        );
    }
    // Minute 30: the phone wrote the position only into its XMP packet.
    let phone_no_gps = |minute: u32| {
        jpeg_with_exif(
            &jpeg,
            &test_exif(&TestExif {
                make: "Google",
                model: "Pixel 8",
                gps: None,
                taken_at: &common::walk_clock(minute, 0),
                utc_offset: Some("+02:00"),
            }),
        )
    };
    let (lat, lon) = common::walk_position(30.0);
    write("PXL_30.jpg", with_xmp(&phone_no_gps(30), lat, lon));
    // Minute 35: the position is in the sidecar only.
    write("PXL_35.jpg", phone_no_gps(35));
    let (lat, lon) = common::walk_position(35.0);
    std::fs::write(
        dir.join("PXL_35.xmp"),
        format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" \
             exif:GPSLatitude=\"{}\" exif:GPSLongitude=\"{}\"/></rdf:RDF></x:xmpmeta>",
            xmp_coordinate(lat, 'N', 'S'),
            xmp_coordinate(lon, 'E', 'W')
        ),
    )
    .expect("sidecar");
    // The camera: no GPS, no zone, its clock 1 h 20 s ahead. 5-25 between the phone's
    // photos; 50 and 55 only on the track.
    let mut camera_photos = Vec::new();
    for minute in [5, 15, 25, 50, 55] {
        let exif = test_exif(&TestExif {
            make: "Canon",
            model: "Canon EOS R6",
            gps: None,
            taken_at: &common::walk_clock(minute, 3620),
            utc_offset: None,
        });
        let file = format!("IMG_{minute:02}.jpg");
        write(&file, jpeg_with_exif(&jpeg, &exif));
        camera_photos.push((file, minute));
    }
    // The track: a point a minute from minute 45 to 60, in UTC.
    let points: String = (45..=60)
        .map(|m| {
            let (lat, lon) = common::walk_position(f64::from(m));
            format!(
                "<trkpt lat=\"{lat}\" lon=\"{lon}\"><time>2024-04-01T09:{m:02}:00Z</time></trkpt>"
            )
            .replace("09:60:00", "10:00:00")
        })
        .collect();
    let track = root.join("walk.gpx");
    std::fs::write(
        &track,
        format!(
            "<?xml version=\"1.0\"?><gpx version=\"1.1\"><trk><trkseg>{points}</trkseg></trk></gpx>"
        ),
    )
    .expect("track");
    Library {
        dir,
        track,
        camera_photos,
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect();
    files.sort();
    files
}

/// `geotag` with no model installed (an empty data folder): the metadata's clues only.
fn geotag(lib: &Library, extra: &[&str]) -> Value {
    let out = common::geolens_isolated()
        .arg("geotag")
        .arg(&lib.dir)
        .arg("--track")
        .arg(&lib.track)
        .args(extra)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn the_track_and_the_photos_before_and_after_place_the_camera_within_150_m() {
    let lib = library("geotag-route");
    let before = snapshot(&lib.dir);
    let answer = geotag(&lib, &["--clock-offset", "Canon EOS R6=+01:00:20"]);
    assert_eq!(
        snapshot(&lib.dir),
        before,
        "the library is read, never written"
    );

    assert_eq!(answer["stats"]["photos"], 11);
    assert_eq!(answer["stats"]["with_position"], 6);
    assert_eq!(answer["stats"]["proposed"], 5);
    assert_eq!(answer["stats"]["embedded"], 0);
    assert_eq!(
        common::geotag_photo(&answer, "PXL_30.jpg")["position"]["from"],
        "embedded_xmp"
    );
    assert_eq!(
        common::geotag_photo(&answer, "PXL_35.jpg")["position"]["from"],
        "sidecar"
    );
    assert_eq!(
        common::geotag_photo(&answer, "PXL_00.jpg")["position"]["from"],
        "exif"
    );
    for (file, minute) in &lib.camera_photos {
        let p = &common::geotag_photo(&answer, file)["proposal"];
        let at = (
            p["lat_deg"].as_f64().expect("lat"),
            p["lon_deg"].as_f64().expect("lon"),
        );
        let off_m = common::distance_m(at, common::walk_position(f64::from(*minute)));
        assert!(off_m < 150.0, "{file}: {off_m:.0} m off ({p})");
        let source = if *minute >= 45 { "track" } else { "time" };
        assert_eq!(p["source"], source, "{file}: {p}");
        assert!(
            p["radius_m"].as_f64().expect("radius") >= off_m.min(10.0),
            "{p}"
        );
        assert!(!p["evidence"].as_str().expect("evidence").is_empty());
    }
    let evidence = common::geotag_photo(&answer, "IMG_15.jpg")["proposal"]["evidence"]
        .as_str()
        .expect("text")
        .to_string();
    assert!(
        evidence.contains("PXL_10.jpg") && evidence.contains("PXL_20.jpg"),
        "{evidence}"
    );
    let canon = common::geotag_camera(&answer, "Canon EOS R6");
    assert_eq!(
        (canon["clock_offset_s"].as_i64(), canon["found_by"].as_str()),
        (Some(3620), Some("given"))
    );
    let pixel = common::geotag_camera(&answer, "Google Pixel 8");
    assert_eq!(pixel["found_by"], "offset_tag");
}

#[test]
fn without_the_camera_offset_its_photos_are_an_hour_out_and_nothing_wrong_is_proposed() {
    let lib = library("geotag-no-offset");
    let answer = geotag(&lib, &[]);
    // An hour late, the camera's photos fall after the track and the phone's last photo.
    for (file, _) in &lib.camera_photos {
        let p = &common::geotag_photo(&answer, file)["proposal"];
        assert!(p.is_null(), "{file}: {p}");
    }
    let canon = common::geotag_camera(&answer, "Canon EOS R6");
    assert_eq!(canon["found_by"], "none");
}

#[test]
fn a_bad_track_or_clock_offset_is_one_line_and_a_non_zero_exit() {
    let lib = library("geotag-bad-input");
    std::fs::write(&lib.track, "<gpx><trk>").expect("write");
    for extra in [vec![], vec!["--clock-offset", "Canon EOS R6=1h"]] {
        let out = common::geolens()
            .arg("geotag")
            .arg(&lib.dir)
            .arg("--track")
            .arg(&lib.track)
            .args(&extra)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("walk.gpx") || err.contains("--clock-offset"),
            "{err}"
        );
    }
}

#[test]
fn write_xmp_keeps_only_the_sources_asked_for_and_the_next_run_reads_them_back() {
    let lib = library("geotag-write-xmp");
    let photos_only = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        snapshot(dir)
            .into_iter()
            .filter(|(name, _)| name.ends_with(".jpg"))
            .collect()
    };
    let before = photos_only(&lib.dir);
    let offset = ["--clock-offset", "Canon EOS R6=+01:00:20"];
    let first = geotag(
        &lib,
        &[&offset[..], &["--write-xmp", "--sources", "track"]].concat(),
    );
    assert_eq!(first["stats"]["written"], 2, "{}", first["stats"]);
    for (file, minute) in &lib.camera_photos {
        let sidecar = lib.dir.join(file.replace(".jpg", ".xmp"));
        assert_eq!(sidecar.exists(), *minute >= 45, "{}", sidecar.display());
        if *minute < 45 {
            continue;
        }
        let text = std::fs::read_to_string(&sidecar).expect("sidecar");
        assert!(
            text.contains("geolens:LocationSource") && text.contains("track"),
            "{text}"
        );
        if let Some(doc) = common::exiftool(&sidecar) {
            let at = (
                doc["XMP-exif:GPSLatitude"]
                    .as_f64()
                    .expect("exiftool reads the latitude"),
                doc["XMP-exif:GPSLongitude"]
                    .as_f64()
                    .expect("exiftool reads the longitude"),
            );
            let off_m = common::distance_m(at, common::walk_position(f64::from(*minute)));
            assert!(
                off_m < 150.0,
                "{file}: exiftool reads {at:?}, {off_m:.0} m off"
            );
        }
    }
    // The next run reads them as the photos' positions, and proposes the rest from time.
    let second = geotag(&lib, &[&offset[..], &["--write-xmp"]].concat());
    assert_eq!(second["stats"]["with_position"], 8, "{}", second["stats"]);
    assert_eq!(
        common::geotag_photo(&second, "IMG_50.jpg")["position"]["from"],
        "sidecar"
    );
    assert_eq!(second["stats"]["proposed"], 3);
    assert_eq!(second["stats"]["written"], 3);
    let third = geotag(&lib, &offset);
    assert_eq!(third["stats"]["with_position"], 11, "{}", third["stats"]);
    assert_eq!(third["stats"]["proposed"], 0);
    assert_eq!(
        photos_only(&lib.dir),
        before,
        "the photos' bytes never change"
    );
}
