//! Reading a library for `geotag`: `cargo bench --bench library`.
//!
//! Writes a library of `GEOLENS_BENCH_PHOTOS` photos (default 10,000; the 112 KB test JPEG with
//! EXIF written per photo: a phone with GPS on every third, a camera without on the rest) and a
//! GPX track over the day into a scratch folder, then times each step of `geotag` on it: the
//! folder walk, reading every photo's time, camera and position, the clocks, and the proposals.
//! Each step runs `GEOLENS_BENCH_RUNS` times (default 5; the median is printed), the first run
//! on whatever the page cache holds: run `sync; echo 3 > /proc/sys/vm/drop_caches` as root
//! first and set `GEOLENS_BENCH_RUNS=1` for a cold read. Peak resident memory at the end.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{bench_runs, ms, peak_rss_mb};
use geolens::cli::photos::collect_photos;
use geolens::library::{Clocks, ProposeSettings, propose, read_track, scan};
use geolens::testing::{TestExif, dms, jpeg_with_exif, test_exif};

fn photo_count() -> usize {
    std::env::var("GEOLENS_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(10_000)
}

/// "2024:04:01 08:00:00" plus `s` seconds, as EXIF writes local time.
fn exif_time(s: u32) -> String {
    let s = 8 * 3600 + s;
    format!(
        "2024:04:{:02} {:02}:{:02}:{:02}",
        1 + s / 86_400,
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

/// Writes the library (reused when a previous run left one of the same size).
fn write_library(dir: &Path, photos: usize) -> PathBuf {
    let track = dir.join("day.gpx");
    let done = dir.join(format!("done-{photos}"));
    if done.exists() {
        return track;
    }
    std::fs::create_dir_all(dir).expect("scratch folder");
    let base = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg"),
    )
    .expect("the test photo");
    let at = |i: usize| (48.85 + i as f64 * 1e-5, 2.30 + i as f64 * 1e-5);
    for i in 0..photos {
        let (lat, lon) = at(i);
        let phone = i % 3 == 0;
        let exif = test_exif(&TestExif {
            make: if phone { "Google" } else { "Canon" },
            model: if phone { "Pixel 8" } else { "Canon EOS R6" },
            gps: phone.then(|| (dms(lat, b'N', b'S'), dms(lon, b'E', b'W'))),
            taken_at: &exif_time(i as u32 * 10),
            utc_offset: phone.then_some("+02:00"),
        });
        let folder = dir.join(format!("{:03}", i / 500));
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(
            folder.join(format!("IMG_{i:05}.jpg")),
            jpeg_with_exif(&base, &exif),
        )
        .expect("write photo");
    }
    let points: String = (0..photos)
        .step_by(6)
        .map(|i| {
            let (lat, lon) = at(i);
            let t = chrono::DateTime::from_timestamp(1_711_951_200 + i as i64 * 10, 0)
                .expect("time")
                .format("%Y-%m-%dT%H:%M:%SZ");
            format!("<trkpt lat=\"{lat}\" lon=\"{lon}\"><time>{t}</time></trkpt>")
        })
        .collect();
    std::fs::write(
        &track,
        format!("<gpx version=\"1.1\"><trk><trkseg>{points}</trkseg></trk></gpx>"),
    )
    .expect("write track");
    std::fs::write(&done, b"").expect("mark");
    track
}

/// The median of `runs` timings of `f`, in ms, and its last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(ms(t));
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], last.expect("one run at least"))
}

fn main() {
    let photos = photo_count();
    let runs = bench_runs();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-library");
    let t = Instant::now();
    let track = write_library(&dir, photos);
    println!(
        "library of {photos} photos in {} ({:.0} ms to write or find it)",
        dir.display(),
        ms(t)
    );
    let (walk_ms, paths) = timed(runs, || {
        collect_photos(std::slice::from_ref(&dir)).expect("walk")
    });
    let (scan_ms, library) = timed(runs, || scan(&paths));
    let (track_ms, tracks) = timed(runs, || vec![read_track(&track).expect("track")]);
    let (clocks_ms, clocks) = timed(runs, || Clocks::work_out(&library, &[]));
    let settings = ProposeSettings::default();
    let (propose_ms, proposals) = timed(runs, || propose(&library, &clocks, &tracks, &settings));
    let proposed = proposals.iter().flatten().count();
    assert_eq!(paths.len(), photos, "every photo found");
    println!(
        "{} threads, median of {runs} runs; {proposed} of {} photos without a position proposed",
        rayon::current_num_threads(),
        library.iter().filter(|p| p.position.is_none()).count()
    );
    println!("| step | ms |\n|---|---|");
    for (step, t) in [
        ("walk the folders", walk_ms),
        ("read time, camera, position", scan_ms),
        ("read the track", track_ms),
        ("camera clocks", clocks_ms),
        ("proposals", propose_ms),
        (
            "total",
            walk_ms + scan_ms + track_ms + clocks_ms + propose_ms,
        ),
    ] {
        println!("| {step} | {t:.0} |");
    }
    if let Some(mb) = peak_rss_mb() {
        println!("peak resident memory: {mb:.0} MB");
    }
}
