//! Ground-to-aerial matching, stage by stage: `cargo bench --bench aerial`.
//!
//! Candidate tiles from a real prediction (GeoCLIP's real heads and 100k gallery on random
//! CLIP features), reading tiles from a folder and from a loopback tile server (cache miss and
//! hit), the two towers on a batch of tiles (the full-size CLIP ViT-L/14 architecture with
//! untrained weights: the time does not depend on the values), and the ranking. Prints a
//! table of medians; CPU, and the GPU (wgpu) when a hardware adapter is present.
//!
//! `GEOLENS_BENCH_RUNS` sets the timed runs of the fast stages (default 5); the tower runs once
//! after a warm-up.

mod common;

use std::hint::black_box;
use std::time::Instant;

use burn::tensor::Device;
use common::{bench_runs, ms, on_each_backend, shipped_geolocator, time};
use geolens::aerial::candidates::{CandidateOptions, candidate_tiles};
use geolens::aerial::rank::rank_tiles;
use geolens::aerial::source::{OnlineTiles, TileFolder, TileSource, fetch_tiles};
use geolens::aerial::towers::{ClipTowers, EMBED_BATCH, TwoTower};
use geolens::model::clip::vision::ClipVisionConfig;
use geolens::predict::Predictor;
use image::RgbImage;

/// A 256 px tile of seeded noise, JPEG-encoded like a real aerial tile.
fn noise_jpeg(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let image = RgbImage::from_fn(256, 256, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Jpeg,
        )
        .expect("encodes");
    bytes
}

fn bench_on(label: &str, device: &Device, runs: usize) {
    let (geolocator, _, _) = shipped_geolocator(device);
    let features: Vec<f32> = (0..768)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
        .collect();
    let prediction = geolocator
        .predict_feature_vector(&features)
        .expect("predicts");
    let options = CandidateOptions::default();
    let candidates_ms = time(runs, || {
        black_box(candidate_tiles(&prediction, &options, None).expect("candidates"));
    });
    let candidates = candidate_tiles(&prediction, &options, None).expect("candidates");
    let n = candidates.len();

    // The same tiles from a folder and from a loopback server.
    let root = std::env::temp_dir().join(format!("geolens-bench-aerial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut served = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let bytes = noise_jpeg(i as u32 + 1);
        let path = root.join(format!("folder/{}.jpg", c.tile));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &bytes).expect("write");
        served.push((c.tile.to_string(), bytes));
    }
    let tiles: Vec<_> = candidates.iter().map(|c| c.tile).collect();
    let fetch_all = |source: &dyn TileSource, parallel: usize| {
        fetch_tiles(
            source,
            &tiles,
            parallel,
            &|_, r| {
                black_box(r.expect("tile"));
            },
            &|| false,
        )
    };
    let folder_ms = time(runs, || {
        let folder = TileFolder::open(&root.join("folder")).expect("opens");
        fetch_all(&folder, 4);
    });
    let server =
        geolens::testing::LoopbackServer::start(served, Default::default()).expect("server");
    let url = format!("{}/{{z}}/{{x}}/{{y}}", server.base_url);
    let miss_ms = time(runs, || {
        let cache = root.join(format!("cache-{}", Instant::now().elapsed().as_nanos()));
        let _ = std::fs::remove_dir_all(&cache);
        let online = OnlineTiles::new("loopback", url.clone(), "", Some(cache));
        fetch_all(&online, 2);
    });
    let online = OnlineTiles::new("loopback", url.clone(), "", Some(root.join("cache-hit")));
    fetch_all(&online, 2);
    let hit_ms = time(runs, || fetch_all(&online, 2));

    let folder = TileFolder::open(&root.join("folder")).expect("opens");
    let images: Vec<RgbImage> = tiles
        .iter()
        .map(|t| folder.fetch(*t).expect("tile"))
        .collect();
    let photo = image::open(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photos/rocket.jpg"),
    )
    .expect("photo")
    .to_rgb8();
    let tower = ClipVisionConfig::vit_large_patch14().init(device);
    let predictor = Predictor::from_parts(tower, geolocator, device).expect("fits");
    let towers = ClipTowers::new(&predictor);
    let pairs: Vec<_> = candidates.iter().copied().zip(images.iter()).collect();
    // One untimed run first (GPU kernels compile on it), then one timed.
    let rank_ms = time(1, || {
        black_box(rank_tiles(&towers, &photo, &pairs, 0.5).expect("ranks"));
    });
    let batch: Vec<&RgbImage> = images.iter().take(EMBED_BATCH).collect();
    let t = Instant::now();
    black_box(towers.embed_aerial(&batch).expect("embeds"));
    let batch_ms = ms(t);
    let _ = std::fs::remove_dir_all(&root);

    println!("\n{label}");
    println!("{:<66} {:>10}", "stage", "ms");
    let row = |name: &str, v: f64| println!("{name:<66} {v:>10.1}");
    row(
        &format!("candidate tiles from a prediction ({n} tiles, zoom 17)"),
        candidates_ms,
    );
    row(
        &format!("read {n} tiles from a folder (256 px JPEG, 4 threads)"),
        folder_ms,
    );
    row(
        &format!("fetch {n} tiles from a loopback server, cache miss (2 at a time)"),
        miss_ms,
    );
    row(&format!("fetch {n} tiles, disk cache hit"), hit_ms);
    row(
        &format!("CLIP ViT-L/14 tower, one batch of {} tiles", batch.len()),
        batch_ms,
    );
    row(
        &format!("rank {n} tiles: photo + tiles through the towers, distances, sort"),
        rank_ms,
    );
    row("  per tile", rank_ms / n.max(1) as f64);
}

fn main() {
    let runs = bench_runs();
    on_each_backend(|backend| {
        if backend.software {
            // ViT-L/14 on 27 tiles takes a quarter of an hour in software: nothing to learn.
            println!("\n{}\nskipped: a software renderer", backend.label);
        } else {
            bench_on(&backend.label, &backend.device, runs)
        }
    });
}
