//! `geolens datasets fetch osv5m-test` against a loopback server holding a test CSV and zip
//! files built here (stored, deflated, zip64 and corrupt entries): a reproducible spread sample,
//! only the chosen photos' bytes requested, a corrupt entry skipped, a cut fetch resumed, and a
//! server without ranges refused.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Output;

use geolens::testing::{Faults, LoopbackServer};
use zip::write::SimpleFileOptions;

const COUNTRIES: [&str; 4] = ["FR", "JP", "BR", "US"];

/// A photo's bytes: a real JPEG with the id appended after its end (still a valid file for a
/// byte comparison; every photo differs).
fn photo_bytes(id: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(common::fixture("photos/rocket.jpg")).expect("fixture");
    bytes.extend_from_slice(format!("photo {id}").as_bytes());
    bytes
}

/// 40 photos in two zips: ids 0-19 stored in 00.zip (id 7 written zip64), ids 20-39 deflated in
/// 01.zip, whose entry 33 is damaged after writing.
fn dataset() -> Vec<(String, Vec<u8>)> {
    let mut csv = String::from("id,latitude,longitude,country,city,creator_username\n");
    for id in 0..40 {
        let c = COUNTRIES[id % 4];
        csv += &format!("{id},{}.5,{}.25,{c},City{id},user{id}\n", id % 80, id * 3);
    }
    let mut zips = Vec::new();
    for (zip_name, ids, method) in [
        ("00", 0..20, zip::CompressionMethod::Stored),
        ("01", 20..40, zip::CompressionMethod::Deflated),
    ] {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for id in ids {
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(id == 7);
            w.start_file(format!("{zip_name}/{id}.jpg"), options)
                .expect("entry");
            w.write_all(&photo_bytes(id)).expect("write");
        }
        let mut bytes = w.finish().expect("zip").into_inner();
        if zip_name == "01" {
            // Damage entry 33's data: find its (unique) name in its local header, then flip a
            // byte well inside its data.
            let needle = b"01/33.jpg";
            let at = bytes
                .windows(needle.len())
                .position(|w| w == needle)
                .expect("local header of 33");
            bytes[at + needle.len() + 500] ^= 0xFF;
        }
        zips.push((format!("images/test/{zip_name}.zip"), bytes));
    }
    let mut files = vec![("test.csv".to_string(), csv.into_bytes())];
    files.extend(zips);
    files
}

fn fetch(server: &LoopbackServer, out: &Path, extra: &[&str]) -> Output {
    common::geolens_isolated()
        .args([
            "datasets",
            "fetch",
            "osv5m-test",
            "--zips",
            "00,01",
            "--from",
        ])
        .arg(&server.base_url)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The ids listed in a fetched folder's dataset.csv.
fn listed(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("dataset.csv")).unwrap_or_default();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("row")[0].to_string())
        .collect()
}

#[test]
fn a_spread_sample_is_read_out_of_remote_zips_entry_by_entry() {
    let dir = common::scratch_dir("datasets_fetch");
    let files = dataset();
    let zip_len = |name: &str| {
        files
            .iter()
            .find(|f| f.0 == name)
            .map(|f| f.1.len())
            .expect("zip")
    };
    let total_zip_bytes = zip_len("images/test/00.zip") + zip_len("images/test/01.zip");
    let server = LoopbackServer::start(files.clone(), Faults::default()).expect("server");
    let out = dir.join("sample");
    let o = fetch(&server, &out, &["--count", "12", "--seed", "5"]);
    // Id 33 is damaged: when chosen it is reported and the rest kept (exit 2), else all pass.
    let text = stderr(&o);
    let paths = listed(&out);
    let chose_33 = text.contains("33:");
    assert_eq!(
        o.status.code(),
        Some(if chose_33 { 2 } else { 0 }),
        "{text}"
    );
    assert_eq!(paths.len(), if chose_33 { 11 } else { 12 }, "{text}");
    // Spread: 12 over 4 countries is 3 each (ids are country-cycled, 10 per country).
    let ids: Vec<usize> = paths
        .iter()
        .map(|p| {
            p.trim_start_matches("photos/")
                .trim_end_matches(".jpg")
                .parse()
                .expect("id")
        })
        .collect();
    for c in 0..4 {
        let n = ids.iter().filter(|&&id| id % 4 == c).count();
        assert!(
            n == 3 || (chose_33 && c == 1 && n == 2),
            "country {c}: {n} of {ids:?}"
        );
    }
    // The photos are the zips' bytes, stored, deflated and zip64 alike.
    for id in &ids {
        assert_eq!(
            std::fs::read(out.join(format!("photos/{id}.jpg"))).expect("photo"),
            photo_bytes(*id)
        );
    }
    // The folder is a game deck too, each card with its creator's credit.
    let deck = geolens::game::deck::Deck::load(&out).expect("deck");
    assert_eq!(deck.cards.len(), paths.len());
    assert!(
        deck.cards
            .iter()
            .all(|c| c.credit.contains("Mapillary") && c.licence == "CC BY-SA 4.0")
    );
    let attribution = std::fs::read_to_string(out.join("ATTRIBUTION.csv")).expect("attribution");
    assert!(
        attribution.contains("CC BY-SA 4.0") && attribution.contains("user"),
        "{attribution}"
    );
    // Only ranges of the zips were read, far less than the zips themselves; our User-Agent.
    let requests = server.requests();
    let zip_bytes: usize = requests
        .iter()
        .filter(|r| r.path.ends_with(".zip"))
        .map(|r| {
            let range = r.range.as_deref().expect("every zip request is a range");
            match range.trim_start_matches("bytes=").split_once('-') {
                Some(("", n)) => n
                    .parse::<usize>()
                    .expect("suffix")
                    .min(zip_len(&r.path[1..])),
                Some((a, b)) => {
                    b.parse::<usize>().expect("end") - a.parse::<usize>().expect("start") + 1
                }
                None => panic!("{range}"),
            }
        })
        .sum();
    assert!(
        zip_bytes < total_zip_bytes * 2 / 3,
        "read {zip_bytes} of {total_zip_bytes} zip bytes for 12 of 40 photos"
    );
    assert!(requests.iter().all(|r| {
        r.user_agent
            .as_deref()
            .is_some_and(|u| u.starts_with("geolens/"))
    }));

    // `eval` reads the written CSV as it stands.
    common::warm_gallery_cache();
    let eval = common::geolens_isolated()
        .arg("--model-dir")
        .arg(common::test_tower_dir())
        .arg("eval")
        .arg(out.join("dataset.csv"))
        .arg("--images")
        .arg(&out)
        .output()
        .expect("eval");
    assert!(eval.status.success(), "{}", stderr(&eval));
    let report = String::from_utf8_lossy(&eval.stdout);
    let n = paths.len();
    assert!(
        report.contains(&format!("photos evaluated: {n} of {n}")),
        "{report}"
    );
    // The dataset's countries give a country accuracy: each guess's country from its nearest
    // GeoNames place, counted against the listed one.
    let truth: std::collections::HashMap<String, String> = csv_rows(&out.join("dataset.csv"))
        .into_iter()
        .map(|r| (r["path"].clone(), r["country"].clone()))
        .collect();
    let namer = geolens::geo::place_names::PlaceNamer::new();
    let right = csv_rows(&out.join("dataset.results.csv"))
        .iter()
        .filter(|r| {
            let at = |k: &str| r[k].parse::<f64>().expect(k);
            namer.country_code(at("guess_lat_deg"), at("guess_lon_deg")) == truth[&r["path"]]
        })
        .count();
    let expected = format!(
        "right country: {:.1}% of {n} photos",
        100.0 * right as f64 / n as f64
    );
    assert!(report.contains(&expected), "{expected:?} in {report}");

    // The same seed again: the same photos, all already there, nothing refetched.
    let again = fetch(&server, &out, &["--count", "12", "--seed", "5"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("fetched 0 photos"),
        "{}",
        stderr(&again)
    );
    assert_eq!(listed(&out), paths);
    // Another seed: another sample.
    let other = dir.join("other");
    fetch(&server, &other, &["--count", "12", "--seed", "6"]);
    assert_ne!(listed(&other), paths);
}

#[test]
fn a_cut_fetch_resumes_and_a_server_without_ranges_is_refused() {
    let dir = common::scratch_dir("datasets_faults");
    let files = dataset();
    let cutting = LoopbackServer::start(
        files.clone(),
        Faults {
            cut_responses: 6,
            cut_after_bytes: 100,
            cut_bodies_longer_than: 4000,
            ..Faults::default()
        },
    )
    .expect("server");
    let out = dir.join("resumed");
    let first = fetch(&cutting, &out, &["--count", "8", "--countries", "FR,JP"]);
    let mut runs = 1;
    // Cut connections cost some photos the first time; running again fills in the rest.
    while listed(&out).len() < 8 && runs < 4 {
        fetch(&cutting, &out, &["--count", "8", "--countries", "FR,JP"]);
        runs += 1;
    }
    assert_eq!(listed(&out).len(), 8, "{}", stderr(&first));
    for path in listed(&out) {
        let id: usize = path
            .trim_start_matches("photos/")
            .trim_end_matches(".jpg")
            .parse()
            .expect("id");
        assert!(id % 4 < 2, "FR and JP only: {id}");
        assert_eq!(
            std::fs::read(out.join(&path)).expect("photo"),
            photo_bytes(id)
        );
    }

    let no_ranges = LoopbackServer::start(
        files,
        Faults {
            no_ranges: true,
            ..Faults::default()
        },
    )
    .expect("server");
    let refused = fetch(&no_ranges, &dir.join("refused"), &["--count", "4"]);
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.contains("range requests") && text.lines().count() == 1,
        "{text}"
    );
}

/// A CSV file's rows, each by column name.
fn csv_rows(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    let headers = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
