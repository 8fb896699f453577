//! Photo to cell probabilities, stage by stage: `cargo bench --bench pipeline`.
//!
//! Decode and preprocess a real photo, run the full-size CLIP ViT-L/14 tower (304M parameters;
//! its weights here are an untrained initialisation, since this times the architecture and the
//! real weights are a 1.2 GB download), then GeoCLIP's real heads against the real 100k-point
//! gallery, and the cell probabilities of the three geocell levels. Once on the CPU, and on
//! wgpu when it finds an adapter: a hardware GPU, or a software renderer such as lavapipe,
//! whose column is labelled as not GPU performance (one timed tower run there; about 30 s).
//! On a hardware GPU, also the tower's throughput at batch 16. Prints a table of medians.
//!
//! `GEOLENS_BENCH_RUNS` sets how many timed runs per stage (default 5; the first, untimed run
//! warms caches and compiles GPU kernels).

mod common;

use std::hint::black_box;
use std::path::Path;

use burn::tensor::{Tensor, TensorData};
use common::{BenchBackend, bench_runs, on_each_backend, peak_rss_mb, shipped_geolocator, time};
use geolens::geo::geocells::Granularity;
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

    let tower = ClipVisionConfig::vit_large_patch14().init(device);
    let input =
        || Tensor::<4>::from_data(TensorData::new(pixels.clone(), [1, 3, 224, 224]), device);
    let tower_runs = if backend.software {
        1
    } else if label.starts_with("CPU") {
        runs.min(3)
    } else {
        runs
    };
    let tower_ms = time(tower_runs, || {
        black_box(read_floats(tower.forward(input())).expect("reads back"));
    });
    let features = tower.forward(input());
    // Throughput at batch 16, where a GPU shines (on the CPU it is the same work 16 times).
    let batch16_ms = (!backend.software && !label.starts_with("CPU")).then(|| {
        let batch: Vec<f32> = (0..16).flat_map(|_| pixels.clone()).collect();
        time(runs, || {
            let x =
                Tensor::<4>::from_data(TensorData::new(batch.clone(), [16, 3, 224, 224]), device);
            black_box(read_floats(tower.forward(x)).expect("reads back"));
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
    if let Some(ms) = batch16_ms {
        row("CLIP ViT-L/14 tower, batch of 16 (per batch)", ms);
        row("  throughput at batch 16 (photos per second)", 16e3 / ms);
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
