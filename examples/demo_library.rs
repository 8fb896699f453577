//! Writes a small demo library for trying the library screen and `geolens geotag` by hand
//! (and for the README's screenshot): `cargo run --example demo_library -- DIR`.
//!
//! A walk through Paris: a phone with GPS every ten minutes, a camera without GPS whose clock
//! keeps local time (it writes its zone) between them, a GPX track over the last half hour,
//! and a scan without time or camera. The pictures are the test photos in
//! `tests/fixtures/photos/` (scikit-image's public-domain and CC0 samples).

use std::path::{Path, PathBuf};

use geolens::testing::{TestExif, dms, jpeg_with_exif, test_exif};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The walk: from the Louvre towards the Bastille, about 60 m a minute.
fn route(minute: u32) -> (f64, f64) {
    (
        48.8606 - 0.00005 * f64::from(minute),
        2.3376 + 0.0008 * f64::from(minute),
    )
}

fn local(minute: u32) -> String {
    let s = 10 * 3600 + minute * 60;
    format!(
        "2024:06:15 {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: demo_library DIR");
        std::process::exit(2);
    };
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).expect("create the folder");
    let jpeg = fixture("rocket.jpg");
    for minute in (0..=60).step_by(10) {
        let (lat, lon) = route(minute);
        let exif = test_exif(&TestExif {
            make: "Google",
            model: "Pixel 8",
            gps: Some((dms(lat, b'N', b'S'), dms(lon, b'E', b'W'))),
            taken_at: &local(minute),
            utc_offset: Some("+02:00"),
        });
        std::fs::write(
            photos.join(format!("PXL_{minute:02}.jpg")),
            jpeg_with_exif(&jpeg, &exif),
        )
        .expect("write");
    }
    for minute in [4, 13, 17, 26, 33, 38, 44, 52, 57] {
        let exif = test_exif(&TestExif {
            make: "Canon",
            model: "Canon EOS R6",
            gps: None,
            taken_at: &local(minute),
            utc_offset: Some("+02:00"),
        });
        std::fs::write(
            photos.join(format!("IMG_{minute:02}.jpg")),
            jpeg_with_exif(&jpeg, &exif),
        )
        .expect("write");
    }
    std::fs::write(photos.join("scan_01.jpg"), &jpeg).expect("write");
    let points: String = (30..=60)
        .map(|m| {
            let (lat, lon) = route(m);
            let s = 8 * 3600 + m * 60;
            format!(
                "<trkpt lat=\"{lat:.6}\" lon=\"{lon:.6}\"><time>2024-06-15T{:02}:{:02}:00Z</time></trkpt>",
                s / 3600,
                s / 60 % 60
            )
        })
        .collect();
    std::fs::write(
        dir.join("walk.gpx"),
        format!(
            "<?xml version=\"1.0\"?><gpx version=\"1.1\"><trk><trkseg>{points}</trkseg></trk></gpx>"
        ),
    )
    .expect("write the track");
    println!("{}", photos.display());
}
