//! Frame times of the real app while the map pans and zooms under the fine-level heatmap:
//! `cargo bench --bench frames`. Runs the release binary in a window (under Xvfb when no
//! display is set, so with Mesa's software renderer on a machine without a GPU) with
//! `--bench-frames`, which moves the camera every frame, and prints a table.
//!
//! The first 5 frames (window creation, font atlas, the heatmap's one-time tessellation) are
//! not counted.
//!
//! Targets (issue 7): 60 fps on a laptop-class GPU; no frame over 50 ms on the CI machine's
//! software renderer.

#[path = "../tests/common/mod.rs"]
mod common;

const FRAMES: usize = 300;

fn run(level: &str, display: &str, runtime_dir: &std::path::Path) -> Vec<(String, String)> {
    let out = common::geolens_on_display(display, runtime_dir)
        .args(["--ephemeral", "--level", level, "--window-size", "1280x800"])
        .args(["--bench-frames", &FRAMES.to_string()])
        .output()
        .expect("run geolens");
    assert!(
        out.status.success(),
        "geolens failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn main() {
    let runtime_dir = common::private_dir(
        std::env::temp_dir().join(format!("geolens-frames-{}", std::process::id())),
    );
    let own_display = std::env::var("DISPLAY").is_err();
    let xvfb = own_display.then(common::Xvfb::start);
    let display = xvfb
        .as_ref()
        .map(|x| x.display.clone())
        .unwrap_or_else(|| std::env::var("DISPLAY").unwrap_or_default());
    println!(
        "{FRAMES} frames, 1280x800 window, map panning and zooming (2-6) under the heatmap; {}",
        if own_display {
            "Xvfb, software renderer"
        } else {
            "your display"
        }
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>10} {:>8} {:>12}",
        "heatmap", "median ms", "p95 ms", "max ms", ">50 ms", "fps", "app ui ms"
    );
    for (level, cells) in [("fine", 4170), ("coarse", 312)] {
        let stats = run(level, &display, &runtime_dir);
        let get = |k: &str| {
            stats
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        println!(
            "{:<28} {:>10} {:>10} {:>10} {:>10} {:>8} {:>12}",
            format!("{level} ({cells} cells)"),
            get("median_ms"),
            get("p95_ms"),
            get("max_ms"),
            get("over_50ms"),
            get("fps_median"),
            get("ui_median_ms")
        );
    }
    let _ = std::fs::remove_dir_all(&runtime_dir);
}
