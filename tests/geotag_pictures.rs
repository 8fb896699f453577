//! `geolens geotag` with a model: the pictures' clues. A library the test makes: a phone with
//! GPS taking a different scene each ten minutes, and a camera without GPS or zone whose clock
//! runs an hour and 20 s ahead, shooting the same scenes a few seconds later (re-encoded,
//! smaller copies: its look-alikes) and some scenes of its own in between. Nothing gives the
//! camera's offset: the look-alike pairs must find it, and then the photos before and after
//! place the camera's own scenes. A photo without a time whose picture is a copy of a
//! geotagged one takes that photo's position; a photo with no clue gets GeoCLIP's guess.
//!
//! Runs the stand-in CLIP tower (seeded noise weights): the model's guesses mean nothing here,
//! only that they are made, radiused and flagged as they should be.

mod common;

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use serde_json::Value;

use geolens::testing::{TestExif, dms, jpeg_with_exif, test_exif};

/// Scene `seed`: a background and a dozen rectangles, colours and places drawn from the seed.
fn scene(seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let colour = |v: u32| Rgb([(v >> 16) as u8, (v >> 8) as u8, v as u8]);
    let mut image = RgbImage::from_pixel(320, 240, colour(next()));
    for _ in 0..12 {
        let (x0, y0) = (next() % 300, next() % 220);
        let (w, h) = (20 + next() % 140, 20 + next() % 120);
        let c = colour(next());
        for y in y0..(y0 + h).min(240) {
            for x in x0..(x0 + w).min(320) {
                image.put_pixel(x, y, c);
            }
        }
    }
    image
}

fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .expect("encode");
    bytes
}

const PHONE_MINUTES: [u32; 6] = [0, 10, 20, 30, 40, 50];
/// The camera's own scenes, between the phone's.
const CAMERA_OWN: [u32; 3] = [5, 25, 45];

fn library(name: &str) -> PathBuf {
    let dir = common::scratch_dir(name).join("photos");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |file: &str, bytes: Vec<u8>| std::fs::write(dir.join(file), bytes).expect("write");
    let phone = |minute: u32| {
        let (lat, lon) = common::walk_position(f64::from(minute));
        test_exif(&TestExif {
            make: "Google",
            model: "Pixel 8",
            gps: Some((dms(lat, b'N', b'S'), dms(lon, b'E', b'W'))),
            taken_at: &common::walk_clock(minute, 0),
            utc_offset: Some("+02:00"),
        })
    };
    let camera = |minute: u32, after_s: u32| {
        test_exif(&TestExif {
            make: "Canon",
            model: "Canon EOS R6",
            gps: None,
            taken_at: &common::walk_clock(minute, 3620 + after_s),
            utc_offset: None,
        })
    };
    for minute in PHONE_MINUTES {
        let picture = scene(minute + 1);
        write(
            &format!("PXL_{minute:02}.jpg"),
            jpeg_with_exif(&jpeg(&picture, 90), &phone(minute)),
        );
        // The camera's shot of the same scene, 8 s later, smaller and more compressed.
        let smaller = image::imageops::resize(&picture, 240, 180, image::imageops::Triangle);
        write(
            &format!("IMG_{minute:02}b.jpg"),
            jpeg_with_exif(&jpeg(&smaller, 75), &camera(minute, 8)),
        );
    }
    for minute in CAMERA_OWN {
        write(
            &format!("IMG_{minute:02}.jpg"),
            jpeg_with_exif(&jpeg(&scene(1000 + minute), 85), &camera(minute, 0)),
        );
    }
    // A scan of the phone's minute-30 scene: no time, no camera.
    write("scan_30.jpg", jpeg(&scene(31), 70));
    // A photo nothing else knows: only the model can say.
    write("unknown.jpg", jpeg(&scene(5000), 85));
    dir
}

fn geotag(dir: &Path, extra: &[&str]) -> Value {
    let out = common::geolens_isolated()
        .arg("--model-dir")
        .arg(common::test_tower_dir())
        .arg("geotag")
        .arg(dir)
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

fn at(proposal: &Value) -> (f64, f64) {
    (
        proposal["lat_deg"].as_f64().expect("lat"),
        proposal["lon_deg"].as_f64().expect("lon"),
    )
}

/// The tiny stand-in tower maps unrelated pictures close together (cosine near 0.99): the
/// look-alike threshold for it is set higher than the default, which is for real embeddings.
const TINY_TOWER_LOOKALIKE_MIN: &str = "0.999";

#[test]
fn lookalike_pairs_find_the_camera_clock_and_the_model_answers_what_nothing_else_covers() {
    common::warm_gallery_cache();
    let dir = library("geotag-pictures");
    let answer = geotag(&dir, &["--lookalike-min", TINY_TOWER_LOOKALIKE_MIN]);

    let canon = common::geotag_camera(&answer, "Canon EOS R6");
    assert_eq!(canon["found_by"], "lookalikes", "{canon}");
    let offset_s = canon["clock_offset_s"].as_i64().expect("offset");
    assert!((offset_s - 3628).abs() <= 60, "{canon}");
    assert!(canon["pairs"].as_u64().expect("pairs") >= 4, "{canon}");

    // With the clock found, the photos before and after place the camera's scenes.
    for minute in CAMERA_OWN.iter().chain(&PHONE_MINUTES) {
        let file = if CAMERA_OWN.contains(minute) {
            format!("IMG_{minute:02}.jpg")
        } else {
            format!("IMG_{minute:02}b.jpg")
        };
        let p = &common::geotag_photo(&answer, &file)["proposal"];
        assert_eq!(p["source"], "time", "{file}: {p}");
        let off_m = common::distance_m(at(p), common::walk_position(f64::from(*minute)));
        assert!(off_m < 150.0, "{file}: {off_m:.0} m off ({p})");
    }
    // The scan has no time: its look-alike gives it the phone's position.
    let scan = &common::geotag_photo(&answer, "scan_30.jpg")["proposal"];
    assert_eq!(scan["source"], "lookalike", "{scan}");
    assert!(
        common::distance_m(at(scan), common::walk_position(30.0)) < 1.0,
        "{scan}"
    );
    let evidence = scan["evidence"].as_str().expect("evidence");
    assert!(evidence.contains("PXL_30.jpg"), "{evidence}");
    // Nothing knows the last one but the model, which says how unsure it is.
    let unknown = &common::geotag_photo(&answer, "unknown.jpg")["proposal"];
    assert_eq!(unknown["source"], "model", "{unknown}");
    assert!(
        unknown["radius_m"].as_f64().expect("radius") > 1000.0,
        "{unknown}"
    );
    assert!(unknown["probability"].as_f64().is_some(), "{unknown}");

    let stats = &answer["stats"];
    assert_eq!(stats["photos"], 17, "{stats}");
    assert_eq!(stats["with_position"], 6, "{stats}");
    assert_eq!(stats["proposed"], 11, "{stats}");
    assert_eq!(stats["embedded"], 17, "{stats}");
    assert_eq!(stats["from_cache"], 0, "{stats}");

    // A second run over the same library computes no embedding and answers the same.
    let again = geotag(&dir, &["--lookalike-min", TINY_TOWER_LOOKALIKE_MIN]);
    assert_eq!(again["stats"]["embedded"], 0, "{}", again["stats"]);
    assert_eq!(again["stats"]["from_cache"], 17, "{}", again["stats"]);
    assert_eq!(again["photos"], answer["photos"]);
    assert_eq!(again["cameras"], answer["cameras"]);

    // A threshold no pair reaches: no offset is claimed, nothing is guessed from the
    // scattered pairs. (In this test rather than beside it: runs sharing the embedding cache
    // at the same moment may each keep only their own.)
    let answer = geotag(&dir, &["--lookalike-min", "1"]);
    assert_eq!(answer["stats"]["embedded"], 0, "{}", answer["stats"]);
    let canon = common::geotag_camera(&answer, "Canon EOS R6");
    assert_eq!(canon["found_by"], "none", "{canon}");
    assert_eq!(
        common::geotag_photo(&answer, "scan_30.jpg")["proposal"]["source"],
        "model"
    );
}
