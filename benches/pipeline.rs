//! Photo to cell probabilities, stage by stage: `cargo bench --bench pipeline`.
//!
//! Decode and preprocess a real photo, run the full-size CLIP ViT-L/14 tower (304M parameters;
//! its weights here are an untrained initialisation, since this times the architecture and the
//! real weights are a 1.2 GB download), then GeoCLIP's real heads against the real 100k-point
//! gallery, and the cell probabilities of the three geocell levels. Once on the CPU, and on
//! wgpu when it finds an adapter: a hardware GPU, or a software renderer such as lavapipe,
//! whose column is labelled as not GPU performance (one timed tower run there; about 30 s).
//! Also the tower's time at a batch: 16 photos on a hardware GPU, 4 on the CPU. Prints a table of medians.
//!
//! `GEOLENS_BENCH_RUNS` sets how many timed runs per stage (default 5; the first, untimed run
//! warms caches and compiles GPU kernels).

mod common;

use std::hint::black_box;
use std::path::Path;

use common::{BenchBackend, bench_runs, on_each_backend, peak_rss_mb, shipped_geolocator, time};
use geolens::geo::geocells::Granularity;
use geolens::model::clip::tower::ClipTower;
use geolens::model::clip::vision::ClipVisionConfig;
use geolens::model::device_io::read_floats;
use geolens::photo::decode::decode_photo;
use geolens::photo::preprocess::clip_pixels;

fn bench_on(backend: &BenchBackend, runs: usize) {
    let (label, device) = (backend.label.as_str(), &backend.device);
    let photo_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg");
    let decode_ms = time(runs, || {
        black_box(decode_photo(&photo_path).expect("decodes"));
    });
    let photo = decode_photo(&photo_path).expect("decodes");
    let preprocess_ms = time(runs, || {
        black_box(clip_pixels(&photo, 224));
    });
    let pixels = clip_pixels(&photo, 224);

    // The tower in the form the predictor runs on this device (the fused one on the CPU).
    let tower = ClipTower::new(ClipVisionConfig::vit_large_patch14().init(device), device)
        .expect("a tower of ViT-L/14's shape");
    let features_of = |n: usize| {
        let batch: Vec<f32> = (0..n).flat_map(|_| pixels.clone()).collect();
        tower.features(batch, n, device).expect("runs the tower")
    };
    let tower_runs = if backend.software {
        1
    } else if label.starts_with("CPU") {
        runs.min(3)
    } else {
        runs
    };
    let tower_ms = time(tower_runs, || {
        black_box(read_floats(features_of(1)).expect("reads back"));
    });
    let features = features_of(1);
    // Throughput at a batch: 16 on a GPU, where it shines; 4 on the CPU, where photos of a
    // batch share the weights' trips through the cache.
    let batch = if label.starts_with("CPU") { 4 } else { 16 };
    let batch_ms = (!backend.software).then(|| {
        time(tower_runs, || {
            black_box(read_floats(features_of(batch)).expect("reads back"));
        })
    });

    let (geolocator, gallery_ms, outcome) = shipped_geolocator(device);
    let heads_ms = time(runs, || {
        black_box(
            geolocator
                .predict_features(features.clone())
                .expect("predicts"),
        );
    });
    let prediction = geolocator
        .predict_features(features.clone())
        .expect("predicts")
        .pop()
        .expect("one");
    let cells_ms = time(runs, || {
        for g in Granularity::ALL {
            black_box(prediction.cell_probabilities(g));
        }
    });
    let total = decode_ms + preprocess_ms + tower_ms + heads_ms + cells_ms;
    println!("\n{label}");
    println!("{:<62} {:>10}", "stage", "ms");
    let row = |name: &str, v: f64| println!("{name:<62} {v:>10.1}");
    row("decode JPEG (640x427)", decode_ms);
    row(
        "preprocess (Pillow-exact bicubic to 224, normalise)",
        preprocess_ms,
    );
    row("CLIP ViT-L/14 tower (304M parameters, 1 photo)", tower_ms);
    if let Some(ms) = batch_ms {
        row(
            &format!("CLIP ViT-L/14 tower, batch of {batch} (per batch)"),
            ms,
        );
        row(&format!("  per photo at batch {batch}"), ms / batch as f64);
    }
    row(
        "GeoCLIP image head + scoring vs 100k gallery + read back",
        heads_ms,
    );
    row("cell probabilities, 3 geocell levels", cells_ms);
    row(
        "  (gallery held in this many device buffers)",
        geolocator.gallery_blocks() as f64,
    );
    row("photo -> cell probabilities (sum of the above)", total);
    println!("{:<62} {:>10}", "", "");
    row(
        &format!(
            "once: gallery embeddings ({})",
            match outcome {
                geolens::model::geoclip::gallery::CacheOutcome::Hit => "read from cache",
                _ => "computed and cached",
            }
        ),
        gallery_ms,
    );
    if let Some(mb) = peak_rss_mb() {
        row("peak resident memory so far (MB)", mb);
    }
}

fn main() {
    let runs = bench_runs();
    on_each_backend(|backend| bench_on(backend, runs));
}
