//! What the model benches share: timing, memory, the backends to run on, and GeoCLIP's real
//! heads and gallery loaded on a device.
#![allow(dead_code)]

use std::time::Instant;

use burn::tensor::Device;
use geolens::model::backend::{BackendChoice, BackendKind, list_adapters, select_backend};
use geolens::model::geoclip::gallery::{
    CacheOutcome, GALLERY_FILE, cache_file_name, default_cache_dir, load_gallery, load_or_compute,
};
use geolens::model::geoclip::weights::{default_model_dir, load_heads};
use geolens::predict::Geolocator;

pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Runs `f` once untimed (caches, GPU kernels), then `runs` times; the median in ms.
pub fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut v: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            ms(t)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `GEOLENS_BENCH_RUNS`, default 5.
pub fn bench_runs() -> usize {
    std::env::var("GEOLENS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1)
}

/// Peak resident memory of this process so far, in MB (Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1e3)
}

/// Where a bench runs: a label for its table and the device.
pub struct BenchBackend {
    pub label: String,
    pub device: Device,
    /// A software renderer (lavapipe): its figures are not GPU performance.
    pub software: bool,
}

/// Runs `bench` on the CPU, then on wgpu's adapter when there is one: a hardware GPU, or a
/// software renderer (lavapipe), whose column is labelled as such.
pub fn on_each_backend(mut bench: impl FnMut(&BenchBackend)) {
    let cpu = select_backend(BackendChoice::Cpu).expect("cpu");
    bench(&BenchBackend {
        label: format!("CPU: {}", cpu.description),
        device: cpu.device,
        software: false,
    });
    if list_adapters().is_empty() {
        println!("\nwgpu: no adapter found; wgpu figures skipped");
        return;
    }
    match select_backend(BackendChoice::Gpu) {
        Ok(gpu) if gpu.kind == BackendKind::Gpu => {
            let label = if gpu.software {
                format!(
                    "wgpu on {} -- SOFTWARE RENDERER: these times are not GPU performance",
                    gpu.description
                )
            } else {
                gpu.description.clone()
            };
            bench(&BenchBackend {
                label,
                device: gpu.device,
                software: gpu.software,
            })
        }
        Ok(_) => {}
        Err(e) => println!("\nwgpu: {e}"),
    }
}

/// GeoCLIP's shipped heads and 100k gallery on `device` (embeddings from the user cache, or
/// computed on the CPU and cached), with the time that took and whether the cache was hit.
pub fn shipped_geolocator(device: &Device) -> (Geolocator, f64, CacheOutcome) {
    let dir = default_model_dir();
    let cpu = geolens::model::backend::cpu_device();
    let encoder = load_heads(&dir, &cpu).expect("shipped heads").location;
    let heads = load_heads(&dir, device).expect("shipped heads");
    let gallery_path = dir.join(GALLERY_FILE);
    let points = load_gallery(&gallery_path).expect("shipped gallery");
    let cache_name = cache_file_name(&dir, &gallery_path).expect("hash");
    let t = Instant::now();
    let (embeddings, outcome) = load_or_compute(
        &encoder,
        &points,
        default_cache_dir().as_deref(),
        &cache_name,
        &cpu,
        |_, _| (),
    )
    .expect("gallery");
    let gallery_ms = ms(t);
    let geolocator = Geolocator::from_parts(heads, points, &embeddings, device).expect("fits");
    (geolocator, gallery_ms, outcome)
}
