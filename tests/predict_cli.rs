//! End-to-end runs of `geolens predict`, `eval` and `models` on the real binary: real photos
//! (and broken files) through the whole pipeline, on the real GeoCLIP heads and gallery, with a
//! stand-in CLIP tower (the real one is a 1.2 GB download CI cannot make).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Great-circle distance by the spherical law of cosines: independent of the app's haversine.
fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
    let d = (b.1 - a.1).to_radians();
    let c = (p1.sin() * p2.sin() + p1.cos() * p2.cos() * d.cos()).clamp(-1.0, 1.0);
    6371.0 * c.acos()
}

/// A folder of real photos (one with EXIF GPS at Kyoto, one HEIC) and broken files.
fn photo_folder(name: &str) -> (PathBuf, Vec<&'static str>) {
    let dir = common::scratch_dir(name);
    let good = dir.join("good");
    std::fs::create_dir_all(good.join("nested")).expect("mkdir");
    std::fs::copy(
        common::fixture("photos/coffee.png"),
        good.join("coffee.png"),
    )
    .expect("copy");
    std::fs::copy(
        common::fixture("heic/RGB_8__128x128.heif"),
        good.join("nested/gradient.heif"),
    )
    .expect("copy");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let exif = geolens::testing::exif_block(
        (35, 0, 4104, b'N'),
        (135, 46, 516, b'E'),
        "2024:04:01 09:30:00",
    );
    std::fs::write(
        good.join("kyoto.jpg"),
        geolens::testing::jpeg_with_exif(&rocket, &exif),
    )
    .expect("write");
    std::fs::write(
        good.join("notes.txt"),
        "not a photo, and not named like one",
    )
    .expect("write");
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::write(bad.join("empty.jpg"), b"").expect("write");
    std::fs::write(bad.join("truncated.jpg"), &rocket[..rocket.len() / 2]).expect("write");
    std::fs::write(bad.join("text.jpg"), "hello, I am text").expect("write");
    std::fs::write(
        bad.join("huge.png"),
        geolens::testing::huge_png_header(30_000, 30_000),
    )
    .expect("write");
    (
        dir,
        vec!["empty.jpg", "huge.png", "text.jpg", "truncated.jpg"],
    )
}

fn predict(args: &[&str], paths: &[&Path]) -> Output {
    common::warm_gallery_cache();
    let mut cmd = common::geolens_isolated();
    cmd.arg("--model-dir")
        .arg(common::test_tower_dir())
        .arg("predict");
    cmd.args(args);
    cmd.args(paths);
    cmd.output().expect("run geolens")
}

#[test]
fn predict_geolocates_a_folder_and_reports_each_broken_file_on_one_line() {
    let (dir, broken) = photo_folder("predict_folder");
    let o = predict(
        &["--format", "json", "--top", "4", "--level", "fine"],
        &[&dir.join("good"), &dir.join("bad")],
    );
    // Some photos failed: exit code 2, one stderr line per failed photo, none a panic.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    // The stand-in tower is announced as not ViT-L/14 on a note line of its own.
    assert!(
        err.contains("geolens: note: the model is GeoCLIP on a CLIP-shaped tower"),
        "{err}"
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR") && !l.starts_with("geolens: note:"))
        .collect();
    assert_eq!(lines.len(), broken.len(), "{err}");
    for (line, name) in lines.iter().zip(&broken) {
        assert!(
            line.starts_with("geolens: error: ") && line.contains(name),
            "{line}"
        );
    }
    assert!(!err.contains("panicked"));
    assert!(lines.iter().any(|l| l.contains("empty")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("huge.png") && l.contains("30000x30000"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("truncated.jpg") && l.contains("truncated"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("text.jpg") && l.contains("unsupported"))
    );

    let doc: Value = serde_json::from_str(&stdout(&o)).expect("one JSON document");
    assert_eq!(doc["granularity"], "fine");
    let photos = doc["photos"].as_array().expect("photos");
    // Folders in sorted order, recursively, photo extensions only (notes.txt skipped).
    let names: Vec<String> = photos
        .iter()
        .map(|p| {
            Path::new(p["path"].as_str().expect("path"))
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "coffee.png",
            "kyoto.jpg",
            "gradient.heif",
            "empty.jpg",
            "huge.png",
            "text.jpg",
            "truncated.jpg"
        ]
    );
    for p in &photos[..3] {
        assert!(p["error"].is_null(), "{p}");
        let places = p["places"].as_array().expect("places");
        assert_eq!(places.len(), 4);
        let probs: Vec<f64> = places
            .iter()
            .map(|x| x["probability"].as_f64().expect("p"))
            .collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{probs:?}");
        assert!(probs.iter().all(|&x| x > 0.0 && x <= 1.0));
        assert_eq!(places[0]["rank"], 1);
        assert!(!places[0]["place_name"].as_str().expect("name").is_empty());
        assert!(places[0]["token"].as_str().expect("token").len() >= 2);
        let best = &p["best_guess"];
        assert!(best["lat_deg"].as_f64().expect("lat").abs() <= 90.0);
        // Credible regions: 50 % and 90 %, the larger holding more cells and area.
        let regions = p["credible_regions"].as_array().expect("regions");
        assert_eq!(regions.len(), 2);
        let field = |r: &serde_json::Value, k: &str| r[k].as_f64().expect(k);
        assert_eq!(field(&regions[0], "mass"), 0.5);
        assert_eq!(field(&regions[1], "mass"), 0.9);
        for r in regions {
            assert!(field(r, "held_mass") >= field(r, "mass") - 1e-9, "{r}");
            assert!(
                field(r, "cells") >= 1.0 && field(r, "area_km2") > 0.0,
                "{r}"
            );
            assert!(r["places"].as_array().expect("places").len() <= 3);
        }
        assert!(field(&regions[1], "cells") >= field(&regions[0], "cells"));
        assert!(field(&regions[1], "area_km2") >= field(&regions[0], "area_km2"));
        let l = p["localizability"].as_f64().expect("localizability");
        assert!((0.0..=1.0).contains(&l), "{l}");
    }
    // The EXIF position is read and the distance to the best guess reported.
    let kyoto = &photos[1];
    let gps = &kyoto["exif"]["gps"];
    assert!((gps["lat_deg"].as_f64().expect("lat") - 35.0114).abs() < 1e-3);
    assert_eq!(kyoto["exif"]["taken_at"], "2024:04:01 09:30:00");
    let best = &kyoto["best_guess"];
    let expected = distance_km(
        (
            gps["lat_deg"].as_f64().expect("lat"),
            gps["lon_deg"].as_f64().expect("lon"),
        ),
        (
            best["lat_deg"].as_f64().expect("lat"),
            best["lon_deg"].as_f64().expect("lon"),
        ),
    );
    let reported = kyoto["exif_distance_km"].as_f64().expect("distance");
    assert!(
        (reported - expected).abs() < 1e-6 * expected.max(1.0),
        "{reported} vs {expected}"
    );
    assert!(photos[0]["exif_distance_km"].is_null());
    for p in &photos[3..] {
        assert!(p["error"].as_str().is_some() && p["places"].as_array().expect("[]").is_empty());
    }
    // geolens never writes to the photos it reads.
    let after = std::fs::read(dir.join("good/kyoto.jpg")).expect("read");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    assert!(after.len() > rocket.len());
}

#[test]
fn predict_table_and_csv_agree_and_are_stable() {
    let photo = common::fixture("photos/rocket.jpg");
    let csv = predict(&["--format", "csv", "--top", "3"], &[&photo]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    let text = stdout(&csv);
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let headers = rows.headers().expect("header").clone();
    assert_eq!(&headers[0], "path");
    assert_eq!(&headers[13], "localizability");
    assert_eq!(&headers[17], "region90_cells");
    assert_eq!(&headers[20], "camera_clock");
    assert_eq!(&headers[22], "error");
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), 3);
    let ranks: Vec<&str> = records.iter().map(|r| &r[1]).collect();
    assert_eq!(ranks, ["1", "2", "3"]);
    // The same run twice gives the same bytes.
    let again = predict(&["--format", "csv", "--top", "3"], &[&photo]);
    assert_eq!(stdout(&again), text);
    let table = predict(&["--top", "3"], &[&photo]);
    assert!(table.status.success());
    let table = stdout(&table);
    assert!(table.contains("best guess:"), "{table}");
    assert!(
        table.contains("  50 %: ") && table.contains("  90 %: "),
        "{table}"
    );
    assert!(table.contains("localizability"), "{table}");
    // The table's 90 % region has the CSV's cell count.
    let cells90 = &records[0][17];
    assert!(
        table.contains(&format!("90 %: {cells90} cell")),
        "{table}\n{cells90}"
    );
    // The table lists the same first place as the CSV.
    assert!(table.contains(&records[0][3]), "{table}");
}

#[test]
fn predict_without_the_tower_says_what_is_missing_and_how_to_get_it() {
    let o = common::geolens_isolated()
        .arg("predict")
        .arg(common::fixture("photos/rocket.jpg"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("xdg-data-empty/geolens/models/clip-vit-large-patch14/model.safetensors"),
        "{err}"
    );
    assert!(
        err.contains("geolens models fetch") && err.contains("--model-dir"),
        "{err}"
    );

    let status = common::geolens_isolated()
        .args(["models", "status"])
        .output()
        .expect("run");
    assert!(status.status.success());
    let text = stdout(&status);
    assert!(text.contains("ok       GeoCLIP heads"), "{text}");
    assert!(text.contains("MISSING  CLIP image tower"), "{text}");
    assert!(text.contains("backend  CPU"), "{text}");
}

#[test]
fn models_fetch_installs_the_tower_from_a_mirror_and_predict_uses_it() {
    let tower = common::test_tower_dir();
    let files = ["model.safetensors", "config.json"]
        .iter()
        .map(|f| {
            (
                format!("clip/{f}"),
                std::fs::read(tower.join(f)).expect("read"),
            )
        })
        .collect();
    let server =
        geolens::testing::LoopbackServer::start(files, Default::default()).expect("server");
    let out = common::scratch_dir("fetch_cli").join("tower");
    let fetch = |extra: &[&str]| {
        common::geolens_isolated()
            .args(["models", "fetch"])
            .args(extra)
            .arg("--from")
            .arg(format!("{}/clip", server.base_url))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run")
    };
    let first = fetch(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("fetched"), "{}", stdout(&first));
    let again = fetch(&[]);
    assert!(
        stdout(&again).contains("already installed"),
        "{}",
        stdout(&again)
    );
    let wrong = fetch(&["--force", "--sha256", &"ab".repeat(32)]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("checksum mismatch"),
        "{}",
        stderr(&wrong)
    );
    // The installed tower was not replaced by the rejected download.
    assert!(out.join("model.safetensors").is_file());

    common::warm_gallery_cache();
    let o = common::geolens_isolated()
        .arg("--model-dir")
        .arg(&out)
        .arg("predict")
        .arg(common::fixture("photos/chelsea.png"))
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));

    // `models status` checks the record against the SHA-256 recorded when it was fetched.
    let status = || {
        common::geolens_isolated()
            .arg("--model-dir")
            .arg(&out)
            .args(["models", "status"])
            .output()
            .expect("run")
    };
    let ok = status();
    assert!(stdout(&ok).contains("SHA-256 checked"), "{}", stdout(&ok));
    let record = out.join("model.safetensors");
    let mut bytes = std::fs::read(&record).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&record, bytes).expect("damage");
    let damaged = status();
    assert!(
        stdout(&damaged).contains("damaged") && stdout(&damaged).contains("--force"),
        "{}",
        stdout(&damaged)
    );
}

#[test]
fn eval_reports_the_literature_thresholds_from_independent_distances() {
    let dir = common::scratch_dir("eval_cli");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).expect("mkdir");
    for f in ["coffee.png", "chelsea.png", "rocket.jpg"] {
        std::fs::copy(common::fixture(&format!("photos/{f}")), images.join(f)).expect("copy");
    }
    // im2gps3k's layout; one photo is missing from the folder.
    let dataset = dir.join("bench.csv");
    std::fs::write(
        &dataset,
        "IMG_ID,AUTHOR,LAT,LON,S3_Label\n\
         coffee.png,a,40.7128,-74.0060,1\n\
         chelsea.png,b,-33.8688,151.2093,2\n\
         rocket.jpg,c,28.4858,-80.5449,3\n\
         gone.jpg,d,0.0,0.0,1\n",
    )
    .expect("write");
    common::warm_gallery_cache();
    let run = |extra: &[&str]| {
        common::geolens_isolated()
            .arg("--model-dir")
            .arg(common::test_tower_dir())
            .arg("eval")
            .arg(&dataset)
            .arg("--images")
            .arg(&images)
            .args(extra)
            .output()
            .expect("run")
    };
    let o = run(&[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "one photo missing: {}",
        stderr(&o)
    );
    let report = stdout(&o);
    assert!(
        report.contains("photos evaluated: 3 of 4 (1 could not be read)"),
        "{report}"
    );

    let results = std::fs::read_to_string(dir.join("bench.results.csv")).expect("results");
    let mut rows = csv::Reader::from_reader(results.as_bytes());
    let mut errors = Vec::new();
    for r in rows.records() {
        let r = r.expect("row");
        if r[0] == *"gone.jpg" {
            assert!(!r[8].is_empty(), "the failure is recorded");
            continue;
        }
        let f = |i: usize| r[i].parse::<f64>().expect("number");
        let d = distance_km((f(1), f(2)), (f(3), f(4)));
        assert!((d - f(5)).abs() < 0.01, "{} km vs {}", d, &r[5]);
        assert!((0.0..=1.0).contains(&f(7)), "localizability {}", &r[7]);
        errors.push(d);
    }
    assert_eq!(errors.len(), 3);
    // Shares within each threshold and the median, recomputed here.
    for km in [1.0, 25.0, 200.0, 750.0, 2500.0] {
        let share = errors.iter().filter(|&&e| e <= km).count() as f64 / 3.0 * 100.0;
        let line = format!("{:>7} km  {:>6.1}%", km, share);
        assert!(report.contains(&line), "{line:?} in\n{report}");
    }
    errors.sort_by(f64::total_cmp);
    assert!(
        report.contains(&format!("median error: {:.1} km", errors[1])),
        "{report}"
    );
    // Three photos: one in each localizability tercile.
    for tercile in ["least sure", "middle", "most sure"] {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(tercile))
            .unwrap_or_else(|| panic!("{tercile} in\n{report}"));
        assert!(line.contains("     1  "), "{line}");
    }

    // The results file is never overwritten without --force.
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(
        std::fs::read_to_string(dir.join("bench.results.csv")).expect("kept"),
        results
    );
    assert_eq!(run(&["--force"]).status.code(), Some(2));

    // A folder in the results' place is refused before any photo runs, even with --force,
    // and nothing is left behind.
    let folder = dir.join("results-folder");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let o = run(&["--results", folder.to_str().expect("utf-8"), "--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("loading"), "{}", stderr(&o));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_name_that_is_not_utf8_is_geolocated_with_a_note() {
    use std::os::unix::ffi::OsStrExt;
    let dir = common::scratch_dir("predict_non_utf8");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.jpg");
    std::fs::copy(common::fixture("photos/rocket.jpg"), dir.join(name)).expect("copy");
    let o = predict(&["--format", "json"], &[&dir]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not valid UTF-8") && stderr(&o).contains("caf\u{fffd}.jpg"),
        "{}",
        stderr(&o)
    );
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert!(
        doc["photos"][0]["best_guess"]["lat_deg"].is_number(),
        "{doc}"
    );
}

#[test]
fn a_copied_binary_predicts_with_the_data_it_carries() {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_geolens"));
    let bytes = std::fs::read(&exe).expect("read binary");
    // No run-time look-up into the folder it was built in.
    for built_in in ["models/geoclip", "assets/deck"] {
        let path = format!("{}/{built_in}", env!("CARGO_MANIFEST_DIR"));
        assert!(
            !bytes.windows(path.len()).any(|w| w == path.as_bytes()),
            "the binary names {path}"
        );
    }
    let dir = common::scratch_dir("copied_binary");
    let copy = dir.join("geolens");
    std::fs::copy(&exe, &copy).expect("copy");
    common::warm_gallery_cache();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let o = std::process::Command::new(&copy)
        .current_dir(&dir)
        .env("XDG_CACHE_HOME", tmp.join("xdg-cache"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .args(["--backend", "cpu", "--model-dir"])
        .arg(common::test_tower_dir())
        .args(["predict", "--format", "json"])
        .arg(common::fixture("photos/rocket.jpg"))
        .output()
        .expect("run the copy");
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert!(
        doc["photos"][0]["best_guess"]["lat_deg"].is_number(),
        "{doc}"
    );
    // `models status` says where the shipped heads are: the user cache, not the source tree.
    let o = std::process::Command::new(&copy)
        .env("XDG_CACHE_HOME", tmp.join("xdg-cache"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .args(["--backend", "cpu", "models", "status"])
        .output()
        .expect("run the copy");
    let text = stdout(&o);
    let heads = text
        .lines()
        .find(|l| l.contains("GeoCLIP heads"))
        .expect("heads line");
    assert!(
        heads.contains("shipped inside geolens")
            && !heads.contains(&format!("{}/models", env!("CARGO_MANIFEST_DIR"))),
        "{text}"
    );
}

#[test]
fn the_photos_clock_weighs_the_answer_and_is_checked_against_its_gps() {
    let dir = common::scratch_dir("predict_clock");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let kyoto = (35, 0, 4104, b'N');
    let kyoto_lon = (135, 46, 516, b'E');
    let photo = |name: &str, offset: Option<&str>| {
        let exif = geolens::testing::exif_block_with_offset(
            kyoto,
            kyoto_lon,
            "2019:04:03 09:30:00",
            offset,
        );
        let path = dir.join(name);
        std::fs::write(&path, geolens::testing::jpeg_with_exif(&rocket, &exif)).expect("write");
        path
    };
    let tokyo_time = photo("tokyo-time.jpg", Some("+09:00"));
    let home_time = photo("home-time.jpg", Some("+02:00"));
    let broken_tag = photo("broken-tag.jpg", Some("+9h"));
    let no_tag = photo("no-tag.jpg", None);
    let json = |args: &[&str], path: &Path| -> serde_json::Value {
        let o = predict(&[&["--format", "json"], args].concat(), &[path]);
        assert!(o.status.success(), "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        doc["photos"][0].clone()
    };

    let on = json(&[], &tokyo_time);
    let clock = &on["clock"];
    assert_eq!(clock["clock"], "UTC+09:00 on 2019-04-03");
    assert_eq!(clock["applied"], true);
    assert_eq!(clock["agrees_with_gps"], true);
    let zones: Vec<&str> = clock["matching_zones"]
        .as_array()
        .expect("zones")
        .iter()
        .filter_map(|z| z.as_str())
        .collect();
    assert!(
        zones.contains(&"Asia/Tokyo") && zones.contains(&"Asia/Seoul"),
        "{zones:?}"
    );
    assert!(!zones.contains(&"Europe/Paris"), "{zones:?}");
    // Off: the same clue, not applied, and a different answer.
    let off = json(&["--clock-prior", "off"], &tokyo_time);
    assert_eq!(off["clock"]["applied"], false);
    assert_ne!(on["places"], off["places"], "the prior changed the answer");
    assert_eq!(off["clock"]["mass_in_zones"], on["clock"]["mass_in_zones"]);

    // A clock left on +02:00 in Kyoto disagrees with the photo's GPS.
    let home = json(&[], &home_time);
    assert_eq!(home["clock"]["agrees_with_gps"], false);
    // A tag that cannot be read: a note, the plain answer, never an error.
    let broken = json(&[], &broken_tag);
    assert!(broken["clock"].is_null());
    assert!(
        broken["clock_note"]
            .as_str()
            .is_some_and(|n| n.contains("+9h")),
        "{broken}"
    );
    assert_eq!(broken["places"], off["places"]);
    // No tag: nothing said, nothing changed.
    let plain = json(&[], &no_tag);
    assert!(plain["clock"].is_null() && plain["clock_note"].is_null());
    assert_eq!(plain["places"], off["places"]);
    // The table says it in words.
    let table = predict(&[], &[&home_time]);
    let text = stdout(&table);
    assert!(
        text.contains("camera clock: UTC+02:00 on 2019-04-03") && text.contains("DISAGREES"),
        "{text}"
    );
}

#[test]
fn write_xmp_keeps_the_best_guess_beside_the_photo_and_everything_else_in_place() {
    let dir = common::scratch_dir("predict_xmp");
    let photo = dir.join("IMG_1.jpg");
    std::fs::copy(common::fixture("photos/rocket.jpg"), &photo).expect("copy");
    let photo_bytes = std::fs::read(&photo).expect("read");
    // A digiKam-style sidecar with a rating, tags and a comment already there.
    let sidecar = dir.join("IMG_1.xmp");
    let digikam = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
        <x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"XMP Core 4.4.0-Exiv2\">\n\
        <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
        <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n\
          xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
          xmlns:digiKam=\"http://www.digikam.org/ns/1.0/\"\n\
          xmp:Rating=\"4\">\n\
         <digiKam:TagsList><rdf:Seq><rdf:li>Places/Florida</rdf:li></rdf:Seq></digiKam:TagsList>\n\
         <dc:subject><rdf:Bag><rdf:li>launch</rdf:li><rdf:li>night</rdf:li></rdf:Bag></dc:subject>\n\
        </rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>\n";
    std::fs::write(&sidecar, digikam).expect("sidecar");
    let before = common::exiftool(&sidecar);

    let o = predict(&["--format", "json", "--write-xmp"], &[&photo]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 written, 0 skipped"),
        "{}",
        stderr(&o)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let guess = &doc["photos"][0]["best_guess"];
    let (lat, lon) = (
        guess["lat_deg"].as_f64().expect("lat"),
        guess["lon_deg"].as_f64().expect("lon"),
    );
    assert_eq!(
        std::fs::read(&photo).expect("read"),
        photo_bytes,
        "the photo is untouched"
    );
    let text = std::fs::read_to_string(&sidecar).expect("read");
    assert!(text.contains("geolens:LocationSource=\"geolens "), "{text}");
    if let (Some(before), Some(after)) = (before, common::exiftool(&sidecar)) {
        let read = |k: &str| {
            after[k]
                .as_f64()
                .unwrap_or_else(|| panic!("{k} in {after}"))
        };
        assert!((read("XMP-exif:GPSLatitude") - lat).abs() < 1e-5, "{after}");
        assert!(
            (read("XMP-exif:GPSLongitude") - lon).abs() < 1e-5,
            "{after}"
        );
        for (k, v) in before.as_object().expect("object") {
            if !k.starts_with("System:") && k != "SourceFile" && !k.starts_with("ExifTool:") {
                assert_eq!(&after[k], v, "{k} changed");
            }
        }
    }
    // A second run does not overwrite that position; with --replace-gps it does.
    let again = predict(&["--write-xmp"], &[&photo]);
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("--replace-gps") && stderr(&again).contains("0 written, 1 skipped"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read_to_string(&sidecar).expect("read"), text);
    let replaced = predict(&["--write-xmp", "--replace-gps"], &[&photo]);
    assert!(
        stderr(&replaced).contains("1 written"),
        "{}",
        stderr(&replaced)
    );
    // darktable naming, and a confidence bar nothing reaches.
    let skipped = predict(
        &[
            "--write-xmp",
            "--xmp-naming",
            "darktable",
            "--min-confidence",
            "1",
        ],
        &[&photo],
    );
    assert!(
        stderr(&skipped).contains("below --min-confidence"),
        "{}",
        stderr(&skipped)
    );
    assert!(!dir.join("IMG_1.jpg.xmp").exists());
    let darktable = predict(&["--write-xmp", "--xmp-naming", "darktable"], &[&photo]);
    assert!(darktable.status.success(), "{}", stderr(&darktable));
    let created = dir.join("IMG_1.jpg.xmp");
    if let Some(read) = common::exiftool(&created) {
        assert!((read["XMP-exif:GPSLatitude"].as_f64().expect("lat") - lat).abs() < 1e-5);
    }
    assert_eq!(std::fs::read(&photo).expect("read"), photo_bytes);
}

#[test]
fn export_writes_set_and_predicted_locations_for_other_tools() {
    let dir = common::scratch_dir("export_cli");
    for name in ["a.jpg", "b.jpg"] {
        std::fs::copy(common::fixture("photos/rocket.jpg"), dir.join(name)).expect("copy");
    }
    // a.jpg has a location set (a darktable-style sidecar): it is exported as set.
    std::fs::write(
        dir.join("a.jpg.xmp"),
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
         xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
         rdf:about=\"\" xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" \
         exif:GPSLatitude=\"22,54.000000S\" exif:GPSLongitude=\"43,10.200000W\"/>\
         </rdf:RDF></x:xmpmeta>",
    )
    .expect("sidecar");
    // c.jpg has its own camera GPS (Seattle) and a model-written sidecar elsewhere, as an
    // earlier geolens wrote: the camera's position is what is exported.
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let seattle = geolens::testing::exif_block(
        (47, 36, 3600, b'N'),
        (122, 19, 4800, b'W'),
        "2024:04:01 09:30:00",
    );
    std::fs::write(
        dir.join("c.jpg"),
        geolens::testing::jpeg_with_exif(&rocket, &seattle),
    )
    .expect("write");
    std::fs::write(
        dir.join("c.xmp"),
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
         xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
         rdf:about=\"\" xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" \
         exif:GPSLatitude=\"44,0.000000N\" exif:GPSLongitude=\"79,0.000000W\"/>\
         </rdf:RDF></x:xmpmeta>",
    )
    .expect("sidecar");
    common::warm_gallery_cache();
    let run = |format: &str, out: &Path| {
        common::geolens_isolated()
            .arg("--model-dir")
            .arg(common::test_tower_dir())
            .args(["export", "--format", format, "--out"])
            .arg(out)
            .arg(&dir)
            .output()
            .expect("run")
    };
    let out = dir.join("photos.geojson");
    let o = run("geojson", &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("geojson");
    let features = doc["features"].as_array().expect("features");
    assert_eq!(features.len(), 3);
    let by_name = |n: &str| {
        features
            .iter()
            .find(|f| f["properties"]["name"] == n)
            .unwrap_or_else(|| panic!("{n} exported"))
    };
    let a = by_name("a.jpg");
    assert_eq!(a["properties"]["kind"], "set");
    assert_eq!(a["geometry"]["coordinates"][1], -22.9);
    assert!((a["geometry"]["coordinates"][0].as_f64().expect("lon") + 43.17).abs() < 1e-9);
    let c = by_name("c.jpg");
    assert_eq!(c["properties"]["kind"], "camera", "{c}");
    assert!((c["geometry"]["coordinates"][1].as_f64().expect("lat") - 47.61).abs() < 1e-6);
    let b = by_name("b.jpg");
    assert_eq!(b["properties"]["kind"], "predicted");
    assert!(b["properties"]["region90_area_km2"].as_f64().expect("area") > 0.0);
    // Never over an existing file without --force; the other formats too.
    assert_eq!(run("geojson", &out).status.code(), Some(1));
    for format in ["gpx", "kml", "csv"] {
        let path = dir.join(format!("photos.{format}"));
        let o = run(format, &path);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains("a.jpg") && text.contains("b.jpg"),
            "{format}: {text}"
        );
    }
}

#[test]
fn darktable_and_lightroom_sidecars_keep_their_own_fields() {
    let dir = common::scratch_dir("predict_xmp_styles");
    let darktable = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"XMP Core 4.4.0-Exiv2\">\n\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
          <rdf:Description rdf:about=\"\"\n\
            xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n\
            xmlns:darktable=\"http://darktable.sf.net/\"\n\
           xmp:Rating=\"3\"\n\
           darktable:xmp_version=\"5\"\n\
           darktable:history_end=\"2\">\n\
           <darktable:history>\n\
            <rdf:Seq>\n\
             <rdf:li darktable:num=\"0\" darktable:operation=\"exposure\" darktable:enabled=\"1\"/>\n\
             <rdf:li darktable:num=\"1\" darktable:operation=\"colorin\" darktable:enabled=\"1\"/>\n\
            </rdf:Seq>\n\
           </darktable:history>\n\
          </rdf:Description>\n\
         </rdf:RDF>\n\
        </x:xmpmeta>\n";
    let lightroom = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"Adobe XMP Core 7.0-c000\">\n\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
          <rdf:Description rdf:about=\"\"\n\
            xmlns:crs=\"http://ns.adobe.com/camera-raw-settings/1.0/\"\n\
            xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\"\n\
           crs:Version=\"15.0\"\n\
           crs:Exposure2012=\"+0.35\"\n\
           photoshop:City=\"Cape Canaveral\">\n\
          </rdf:Description>\n\
         </rdf:RDF>\n\
        </x:xmpmeta>\n";
    for (name, naming, sidecar_name, xml) in [
        ("dt.jpg", "darktable", "dt.jpg.xmp", darktable),
        ("lr.jpg", "digikam", "lr.xmp", lightroom),
    ] {
        let photo = dir.join(name);
        std::fs::copy(common::fixture("photos/rocket.jpg"), &photo).expect("copy");
        let sidecar = dir.join(sidecar_name);
        std::fs::write(&sidecar, xml).expect("sidecar");
        let before = common::exiftool(&sidecar);
        let o = predict(&["--write-xmp", "--xmp-naming", naming], &[&photo]);
        assert!(stderr(&o).contains("1 written"), "{name}: {}", stderr(&o));
        let text = std::fs::read_to_string(&sidecar).expect("read");
        assert!(text.contains("exif:GPSLatitude="), "{text}");
        if let (Some(before), Some(after)) = (before, common::exiftool(&sidecar)) {
            assert!(after["XMP-exif:GPSLatitude"].is_number(), "{after}");
            for (k, v) in before.as_object().expect("object") {
                if !k.starts_with("System:") && k != "SourceFile" && !k.starts_with("ExifTool:") {
                    assert_eq!(&after[k], v, "{name}: {k} changed");
                }
            }
        }
    }
}

#[test]
fn write_xmp_leaves_a_photo_with_its_own_gps_alone_and_says_so() {
    let dir = common::scratch_dir("predict_own_gps");
    let rocket = std::fs::read(common::fixture("photos/rocket.jpg")).expect("read");
    let seattle = geolens::testing::exif_block(
        (47, 36, 3600, b'N'),
        (122, 19, 4800, b'W'),
        "2024:04:01 09:30:00",
    );
    let photo = dir.join("IMG_GPS.jpg");
    std::fs::write(&photo, geolens::testing::jpeg_with_exif(&rocket, &seattle)).expect("write");
    std::fs::copy(
        common::fixture("photos/rocket.jpg"),
        dir.join("IMG_NONE.jpg"),
    )
    .expect("copy");
    common::warm_gallery_cache();
    let o = common::geolens_isolated()
        .arg("--model-dir")
        .arg(common::test_tower_dir())
        .args(["predict", "--write-xmp"])
        .arg(&dir)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !dir.join("IMG_GPS.xmp").exists(),
        "never the model's guess over the camera's"
    );
    assert!(
        stderr(&o).contains("IMG_GPS.jpg: has its own GPS position (EXIF)"),
        "{}",
        stderr(&o)
    );
    assert!(
        dir.join("IMG_NONE.xmp").exists(),
        "the photo without GPS is kept"
    );
}
