//! End-to-end runs of the command line: partitions, and bad input failing cleanly.

mod common;

use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A failure is exit code 1 with one line on stderr starting "geolens: error:", never a panic.
fn assert_clean_failure(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("geolens: error:"), "{err}");
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    assert!(!err.contains("panicked"));
}

#[test]
fn cells_build_partitions_names_and_refuses_to_overwrite() {
    let dir = common::scratch_dir("cli_cells_build");
    let input = dir.join("points.csv");
    let mut csv = String::from("LAT,LON\n");
    // 300 photos around Kyoto, 300 around Paris, 3 lonely ones in the Sahara.
    for i in 0..300 {
        let d = (i % 17) as f64 * 0.01;
        csv += &format!("{},{}\n", 35.0 + d, 135.75 + (i / 17) as f64 * 0.01);
        csv += &format!("{},{}\n", 48.85 + d, 2.30 + (i / 17) as f64 * 0.01);
    }
    csv += "23.0,12.0\n23.1,12.2\n22.9,11.9\n";
    std::fs::write(&input, csv).expect("write input");
    let out = dir.join("cells.csv");
    let run = |force: bool| {
        let mut cmd = common::geolens();
        cmd.args(["cells", "build", "--input"]).arg(&input);
        cmd.args(["--t-min", "10", "--t-max", "100", "--out"])
            .arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.output().expect("run")
    };
    let o = run(false);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(report.contains("from 603 points"), "{report}");
    let written = std::fs::read_to_string(&out).expect("output written");
    // The reported coverage agrees with the photo counts written (the Sahara trio is dropped).
    let kept: u32 = written
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(2)
                .and_then(|n| n.parse::<u32>().ok())
                .expect("photo_count column")
        })
        .sum();
    assert!(kept <= 600 && kept > 500, "kept {kept}");
    let coverage = format!(
        "{:.1}% of points in kept cells",
        f64::from(kept) / 603.0 * 100.0
    );
    assert!(report.contains(&coverage), "{report} should say {coverage}");
    assert!(written.starts_with("token,level,photo_count,mean_lat_deg,mean_lon_deg,place_name"));
    assert!(
        written.contains("Japan") && written.contains("France"),
        "{written}"
    );
    assert!(
        !written.contains("Libya") && !written.contains("Niger"),
        "Sahara cell should be dropped"
    );

    // A second run does not clobber the file without --force.
    std::fs::write(&out, "precious").expect("write");
    let o = run(false);
    assert_clean_failure(&o, "exists");
    assert_eq!(std::fs::read_to_string(&out).expect("read"), "precious");
    assert!(run(true).status.success());
}

#[test]
fn bad_inputs_fail_with_one_clear_line() {
    let dir = common::scratch_dir("cli_bad_inputs");
    let build = |name: &str, body: &str| {
        let input = dir.join(name);
        std::fs::write(&input, body).expect("write");
        common::geolens()
            .args(["cells", "build", "--t-min", "1", "--t-max", "5", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(dir.join(format!("{name}.out")))
            .output()
            .expect("run")
    };
    assert_clean_failure(&build("letters.csv", "LAT,LON\n1,2\nnorth,east\n"), "row 3");
    assert_clean_failure(&build("range.csv", "1,2\n95,2\n"), "row 2: latitude 95");
    assert_clean_failure(&build("empty.csv", ""), "no points");
    // A missing file: its reason once, not twice.
    let o = common::geolens()
        .args(["eval", "/nonexistent/bench.csv", "--images"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_clean_failure(&o, "/nonexistent/bench.csv");
    assert_eq!(
        stderr(&o).matches("No such file").count(),
        1,
        "{}",
        stderr(&o)
    );
    assert!(
        !dir.join("letters.csv.out").exists(),
        "nothing written on failure"
    );

    let missing = common::geolens()
        .args([
            "cells",
            "build",
            "--t-min",
            "1",
            "--t-max",
            "5",
            "--input",
            "/nonexistent/p.csv",
            "--out",
        ])
        .arg(dir.join("x.csv"))
        .output()
        .expect("run");
    assert_clean_failure(&missing, "/nonexistent/p.csv");

    // The GUI's arguments are checked before any window opens.
    let bad_heatmap = dir.join("bad_heatmap.csv");
    std::fs::write(&bad_heatmap, "token,probability\nnot-a-cell,0.5\n").expect("write");
    let o = common::geolens()
        .arg("--heatmap")
        .arg(&bad_heatmap)
        .output()
        .expect("run");
    assert_clean_failure(&o, "row 2");
    let o = common::geolens()
        .args(["--center", "95,10"])
        .output()
        .expect("run");
    assert_clean_failure(&o, "outside");
    let o = common::geolens()
        .args(["--heatmap", "/nonexistent/h.csv"])
        .output()
        .expect("run");
    assert_clean_failure(&o, "/nonexistent/h.csv");
}

#[test]
fn cells_stats_lists_the_shipped_levels() {
    let o = common::geolens()
        .args(["cells", "stats"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    for level in ["coarse", "middle", "fine"] {
        assert!(table.lines().any(|l| l.starts_with(level)), "{table}");
    }
}

#[test]
fn import_geoclip_rejects_what_is_not_a_geoclip_wheel_and_writes_nothing() {
    let dir = common::scratch_dir("cli_import_geoclip");
    let out = dir.join("out");
    let missing = common::geolens()
        .args([
            "models",
            "import-geoclip",
            "/nonexistent/geoclip.whl",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert_clean_failure(&missing, "/nonexistent/geoclip.whl");
    let not_zip = dir.join("fake.whl");
    std::fs::write(&not_zip, b"this is not a zip archive").expect("write");
    let o = common::geolens()
        .args(["models", "import-geoclip"])
        .arg(&not_zip)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    assert_clean_failure(&o, "not a wheel");
    assert!(!out.exists(), "nothing may be written on failure");
}

#[test]
fn a_screenshot_never_replaces_a_photo_or_a_file_without_force() {
    let dir = common::scratch_dir("cli_screenshot_names");
    let photo = dir.join("myphoto.jpg");
    std::fs::copy(common::fixture("photos/rocket.jpg"), &photo).expect("copy");
    let before = std::fs::read(&photo).expect("read");
    let o = common::geolens()
        .arg("--screenshot")
        .arg(&photo)
        .output()
        .expect("run");
    assert_clean_failure(&o, "PNG");
    assert_eq!(
        std::fs::read(&photo).expect("read"),
        before,
        "the photo is untouched"
    );

    // An existing PNG, or the .json written beside it, is kept unless --force.
    let report = dir.join("report.json");
    std::fs::write(&report, b"{\"mine\": true}").expect("write");
    let o = common::geolens()
        .arg("--screenshot")
        .arg(dir.join("report.png"))
        .output()
        .expect("run");
    assert_clean_failure(&o, "report.json");
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&report).expect("read"), b"{\"mine\": true}");
    assert!(!dir.join("report.png").exists());
}

#[test]
fn a_fifo_named_like_a_photo_is_refused_without_blocking() {
    let dir = common::scratch_dir("cli_fifo");
    let fifo = dir.join("photo.jpg");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let mut child = common::geolens_isolated()
        .arg("--model-dir")
        .arg(common::test_tower_dir())
        .arg("predict")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed().as_secs() > 120 {
            let _ = child.kill();
            panic!("geolens predict blocked on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().expect("output");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.lines().any(|l| l.starts_with("geolens: error:")
            && l.contains("photo.jpg")
            && l.contains("FIFO")),
        "{err}"
    );
}

#[test]
fn a_closed_standard_output_is_an_error_not_a_panic() {
    // `geolens cells stats | true`: the reader is gone before geolens writes.
    let mut child = common::geolens()
        .args(["cells", "stats"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("output");
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("standard output"), "{err}");
}

#[test]
fn a_malformed_sha256_is_refused_before_any_download() {
    // No server is listening there: the argument must be refused before any connection.
    let o = common::geolens()
        .args([
            "models",
            "fetch",
            "--from",
            "http://127.0.0.1:9/none",
            "--sha256",
            "abc",
        ])
        .arg("--out")
        .arg(common::scratch_dir("cli_sha256"))
        .output()
        .expect("run");
    assert_clean_failure(&o, "64 hexadecimal digits");
}
