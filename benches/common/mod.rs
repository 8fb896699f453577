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

/// Runs `bench(label, device)` on the CPU, then on the GPU when wgpu finds a hardware adapter.
pub fn on_each_backend(mut bench: impl FnMut(&str, &Device)) {
    let cpu = select_backend(BackendChoice::Cpu).expect("cpu");
    bench(&format!("CPU: {}", cpu.description), &cpu.device);
    let hardware = list_adapters().iter().any(|a| {
        !matches!(
            a.device_type,
            burn::tensor::wgpu::wgpu::DeviceType::Cpu | burn::tensor::wgpu::wgpu::DeviceType::Other
        )
    });
    if !hardware {
        println!("\nGPU: no hardware adapter found; GPU figures skipped");
        return;
    }
    match select_backend(BackendChoice::Gpu) {
        Ok(gpu) if gpu.kind == BackendKind::Gpu => bench(&gpu.description, &gpu.device),
        Ok(_) => {}
        Err(e) => println!("\nGPU: {e}"),
    }
}

/// GeoCLIP's shipped heads and 100k gallery on `device` (embeddings from the user cache, or
/// computed and cached), with the time that took and whether the cache was hit.
pub fn shipped_geolocator(device: &Device) -> (Geolocator, f64, CacheOutcome) {
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
    (geolocator, gallery_ms, outcome)
}
