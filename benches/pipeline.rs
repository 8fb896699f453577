//! Photo to cell probabilities, stage by stage: `cargo bench --bench pipeline`.
//!
//! Decode and preprocess a real photo, run the full-size CLIP ViT-L/14 tower (304M parameters;
//! its weights here are an untrained initialisation, since this times the architecture and the
//! real weights are a 1.2 GB download), then GeoCLIP's real heads against the real 100k-point
//! gallery, and the cell probabilities of the three geocell levels. Once on the CPU, and on
//! the GPU (wgpu) when a hardware adapter is present. Prints a table of medians.
//!
//! `GEOLENS_BENCH_RUNS` sets how many timed runs per stage (default 5; the first, untimed run
//! warms caches and compiles GPU kernels).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use geolens::geo::geocells::Granularity;
use geolens::model::backend::{BackendChoice, BackendKind, list_adapters, select_backend};
use geolens::model::clip::vision::ClipVisionConfig;
use geolens::model::geoclip::gallery::{
    GALLERY_FILE, cache_file_name, default_cache_dir, load_gallery, load_or_compute,
};
use geolens::model::geoclip::weights::{default_model_dir, load_heads};
use geolens::photo::decode::decode_photo;
use geolens::photo::preprocess::clip_pixels;
use geolens::predict::Geolocator;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `f` once untimed, then `runs` times; the median in ms.
fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                ms(t)
            })
            .collect(),
    )
}

/// Peak resident memory of this process so far, in MB (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1e3)
}

fn bench_on(label: &str, device: &Device, runs: usize) {
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
    let tower_runs = if label.starts_with("CPU") {
        runs.min(3)
    } else {
        runs
    };
    let tower_ms = time(tower_runs, || {
        let f = tower.forward(input());
        black_box(f.into_data());
    });
    let features = tower.forward(input());

    let dir = default_model_dir();
    let heads = load_heads(&dir, device).expect("shipped heads");
    let gallery_path = dir.join(GALLERY_FILE);
    let points = load_gallery(&gallery_path).expect("shipped gallery");
    let cache_name = cache_file_name(&dir, &gallery_path).expect("hash");
    let t = Instant::now();
    let (embeddings, outcome) = load_or_compute(
        &heads.location,
        &points,
        default_cache_dir().as_deref(),
        &cache_name,
        device,
        |_, _| (),
    )
    .expect("gallery");
    let gallery_ms = ms(t);
    let geolocator = Geolocator::from_parts(heads, points, &embeddings, device).expect("fits");
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
    row(
        "GeoCLIP image head + scoring vs 100k gallery + read back",
        heads_ms,
    );
    row("cell probabilities, 3 geocell levels", cells_ms);
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
    let runs: usize = std::env::var("GEOLENS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let cpu = select_backend(BackendChoice::Cpu).expect("cpu");
    bench_on(&format!("CPU: {}", cpu.description), &cpu.device, runs);
    let hardware = list_adapters().iter().any(|a| {
        !matches!(
            a.device_type,
            burn::tensor::wgpu::wgpu::DeviceType::Cpu | burn::tensor::wgpu::wgpu::DeviceType::Other
        )
    });
    if hardware {
        match select_backend(BackendChoice::Gpu) {
            Ok(gpu) if gpu.kind == BackendKind::Gpu => {
                bench_on(&gpu.description, &gpu.device, runs)
            }
            Ok(_) => {}
            Err(e) => println!("\nGPU: {e}"),
        }
    } else {
        println!("\nGPU: no hardware adapter found; GPU figures skipped");
    }
}
