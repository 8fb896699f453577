//! End-to-end runs of `geolens match` (tiles around the predicted places, ranked against the
//! photo) and `geolens match-eval` (average precision on labelled pairs) on the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use geolens::aerial::TileId;
use geolens::geo::partition::LatLonDeg;
use image::{Rgb, RgbImage};
use serde_json::Value;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn solid(colour: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(64, 64, Rgb(colour))
}

fn save(image: &RgbImage, path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    image.save(path).expect("save");
}

/// A hand-made set with a known answer under the colour towers: ranked by distance the pairs
/// are pos (0), pos (0), neg (0.765), neg (1.414), pos (1.414; ties count negatives first),
/// so AP = (1/1 + 2/2 + 3/5) / 3.
fn hand_made_pairs(dir: &Path) -> PathBuf {
    save(&solid([220, 30, 30]), &dir.join("ground/red.png"));
    save(&solid([30, 30, 220]), &dir.join("ground/blue.png"));
    save(&solid([230, 20, 20]), &dir.join("aerial/red.png"));
    save(&solid([20, 20, 230]), &dir.join("aerial/blue.png"));
    let mut half = solid([20, 20, 230]);
    for y in 0..32 {
        for x in 0..64 {
            half.put_pixel(x, y, Rgb([20, 220, 20]));
        }
    }
    save(&half, &dir.join("aerial/blue-green.png"));
    let csv = dir.join("pairs.csv");
    std::fs::write(
        &csv,
        "ground,aerial,same\n\
         ground/red.png,aerial/red.png,1\n\
         ground/red.png,aerial/blue.png,0\n\
         ground/blue.png,aerial/blue.png,1\n\
         ground/blue.png,aerial/blue-green.png,0\n\
         ground/red.png,aerial/blue-green.png,1\n",
    )
    .expect("write");
    csv
}

#[test]
fn match_eval_reports_the_known_average_precision_and_draws_the_histogram() {
    let dir = common::scratch_dir("match_eval");
    let csv = hand_made_pairs(&dir);
    let png = dir.join("distances.png");
    let run = |extra: &[&str]| {
        common::geolens_isolated()
            .arg("match-eval")
            .arg(&csv)
            .args(["--towers", "colour", "--histogram"])
            .arg(&png)
            .args(extra)
            .output()
            .expect("run")
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("average precision 86.7% (chance 60.0%)"),
        "{text}"
    );
    assert!(text.contains("3 positive, 2 negative"), "{text}");
    let histogram = image::open(&png).expect("a PNG").to_rgb8();
    assert_eq!(histogram.dimensions(), (640, 400));

    // The histogram is never overwritten by accident.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = run(&["--force", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let ap = json["average_precision"].as_f64().expect("ap");
    assert!((ap - 2.6 / 3.0).abs() < 1e-9, "{ap}");
    assert_eq!(
        json["histogram"]["positives"].as_array().map(Vec::len),
        Some(20)
    );

    // An unreadable image leaves its pairs out, says which, and exits 2.
    std::fs::write(dir.join("aerial/blue-green.png"), b"not a png").expect("write");
    let o = run(&["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let errors = stderr(&o);
    assert_eq!(errors.matches("blue-green.png").count(), 1, "{errors}");
    // Left: pos 0, neg 1.414, pos 0 -> AP 1.
    assert!(
        stdout(&o).contains("average precision 100.0%"),
        "{}",
        stdout(&o)
    );
}

/// The places `predict` names for a photo (fine cells, most likely first).
fn predicted_places(photo: &Path) -> Vec<LatLonDeg> {
    common::warm_gallery_cache();
    let o = common::geolens_isolated()
        .arg("--model-dir")
        .arg(common::test_tower_dir())
        .args([
            "predict", "--level", "fine", "--top", "3", "--format", "json",
        ])
        .arg(photo)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let json: Value = serde_json::from_str(&stdout(&o)).expect("json");
    json["photos"][0]["places"]
        .as_array()
        .expect("places")
        .iter()
        .map(|p| LatLonDeg {
            lat_deg: p["center"]["lat_deg"].as_f64().expect("lat"),
            lon_deg: p["center"]["lon_deg"].as_f64().expect("lon"),
        })
        .collect()
}

fn tile_path(root: &Path, tile: TileId, ext: &str) -> PathBuf {
    root.join(format!("{}/{}/{}.{ext}", tile.zoom, tile.x, tile.y))
}

#[test]
fn match_ranks_the_folder_tiles_near_the_predicted_places() {
    let photo_path = common::fixture("photos/coffee.png");
    let places = predicted_places(&photo_path);
    assert_eq!(places.len(), 3);
    let dir = common::scratch_dir("match_tiles");
    let tiles = dir.join("tiles");
    let photo = image::open(&photo_path).expect("photo").to_rgb8();
    let looks_like_photo = image::imageops::thumbnail(&photo, 256, 256);
    // At the second place: a tile that looks like the photo and a grey one; at the first a
    // green one; far away (the antipode of the first place) a tile that must not be listed.
    let first = TileId::containing(places[0], 17);
    let second = TileId::containing(places[1], 17);
    let beside = second.offset(1, 0).expect("on the map");
    let far = TileId::containing(
        LatLonDeg {
            lat_deg: -places[0].lat_deg,
            lon_deg: places[0].lon_deg - 180.0,
        },
        17,
    );
    save(&solid([40, 160, 50]), &tile_path(&tiles, first, "png"));
    save(&looks_like_photo, &tile_path(&tiles, second, "png"));
    save(&solid([128, 128, 128]), &tile_path(&tiles, beside, "png"));
    save(&solid([40, 160, 50]), &tile_path(&tiles, far, "png"));
    std::fs::write(tiles.join("ATTRIBUTION.txt"), "Hand-made test tiles\n").expect("write");

    let run = |extra: &[&str]| {
        common::geolens_isolated()
            .arg("--model-dir")
            .arg(common::test_tower_dir())
            .arg("match")
            .arg(&photo_path)
            .arg("--tiles")
            .arg(&tiles)
            .args(extra)
            .output()
            .expect("run")
    };
    let args = ["--towers", "colour", "--prior-weight", "0", "--json"];
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let ranked: Vec<String> = json["ranked"]
        .as_array()
        .expect("ranked")
        .iter()
        .map(|r| r["tile"].as_str().expect("tile").to_owned())
        .collect();
    assert_eq!(ranked.len(), 3, "{ranked:?}");
    assert_eq!(
        ranked[0],
        second.to_string(),
        "the tile that looks like the photo"
    );
    assert!(!ranked.contains(&far.to_string()));
    // Shrinking shifts a few pixels' colours; everything else is far.
    let distances: Vec<f64> = json["ranked"]
        .as_array()
        .expect("ranked")
        .iter()
        .map(|r| r["distance"].as_f64().expect("distance"))
        .collect();
    assert!(distances[0] < 0.1 && distances[1] > 0.5, "{distances:?}");
    assert_eq!(json["attribution"], "Hand-made test tiles");
    let best = &json["ranked"][0];
    assert_eq!(best["rank"], 1);
    let (lat, lon) = (
        best["lat_deg"].as_f64().expect("lat"),
        best["lon_deg"].as_f64().expect("lon"),
    );
    assert_eq!(
        TileId::containing(
            LatLonDeg {
                lat_deg: lat,
                lon_deg: lon
            },
            17
        ),
        second
    );
    // Same inputs, same bytes out.
    assert_eq!(stdout(&run(&args)), stdout(&o));

    // A damaged tile is reported on its own line; the rest are still ranked; exit 2.
    std::fs::remove_file(tile_path(&tiles, beside, "png")).expect("rm");
    std::fs::write(tile_path(&tiles, beside, "jpg"), b"\xff\xd8 truncated").expect("write");
    let o = run(&["--towers", "colour"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("tile {beside}:")),
        "{}",
        stderr(&o)
    );
    let table = stdout(&o);
    assert!(
        table.contains(&second.to_string()) && table.contains(&first.to_string()),
        "{table}"
    );

    // With the CLIP towers (here the stand-in tower) the same command runs end to end.
    let o = run(&["--towers", "clip"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("on photo and tile alike"),
        "{}",
        stdout(&o)
    );

    // No tiles near the places: a one-line error.
    let elsewhere = dir.join("elsewhere");
    save(&solid([1, 2, 3]), &tile_path(&elsewhere, far, "png"));
    let o = common::geolens_isolated()
        .arg("--model-dir")
        .arg(common::test_tower_dir())
        .arg("match")
        .arg(&photo_path)
        .arg("--tiles")
        .arg(&elsewhere)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no tiles near"), "{}", stderr(&o));
    let errors = stderr(&o);
    assert_eq!(
        errors
            .lines()
            .filter(|l| l.starts_with("geolens: error"))
            .count(),
        1,
        "{errors}"
    );
}
