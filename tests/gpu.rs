//! The model on burn's wgpu backend, against the same model on the CPU. On CI (and any machine
//! without a hardware GPU) wgpu runs on Mesa's lavapipe, a conformant software Vulkan device
//! whose storage-buffer bindings are limited to 128 MiB: smaller than GeoCLIP's gallery
//! (204.8 MB), so these tests prove the gallery is scored in blocks that fit the device.
//! Without any adapter they skip with a printed reason, except under `CI=true`.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::tensor::{Device, Tensor, TensorData};
use geolens::aerial::towers::ClipTowers;
use geolens::aerial::{Candidate, TileId};
use geolens::geo::geocells::Granularity;
use geolens::model::backend::{BackendKind, cpu_device};
use geolens::model::clip::weights::load_clip_vision;
use geolens::model::device_io::read_floats;
use geolens::model::geoclip::gallery::{
    GALLERY_FILE, GalleryEmbeddings, cache_file_name, load_gallery, load_or_compute,
};
use geolens::model::geoclip::weights::{default_model_dir, load_heads};
use geolens::photo::decode::decode_photo;
use geolens::predict::{Geolocator, Predictor};
use image::RgbImage;

/// The full 100k gallery's embeddings, computed once on the CPU (or read from the cache the
/// other tests share).
fn gallery() -> &'static (Vec<geolens::geo::partition::LatLonDeg>, GalleryEmbeddings) {
    static GALLERY: OnceLock<(Vec<geolens::geo::partition::LatLonDeg>, GalleryEmbeddings)> =
        OnceLock::new();
    GALLERY.get_or_init(|| {
        let dir = default_model_dir();
        let cpu = cpu_device();
        let heads = load_heads(&dir, &cpu).expect("shipped heads");
        let path = dir.join(GALLERY_FILE);
        let points = load_gallery(&path).expect("shipped gallery");
        let name = cache_file_name(&dir, &path).expect("hash");
        let cache = geolens::testing::shared_gallery_cache_dir();
        let (embeddings, _) = load_or_compute(
            &heads.location,
            &points,
            Some(&cache),
            &name,
            &cpu,
            |_, _| (),
        )
        .expect("embeds");
        (points, embeddings)
    })
}

/// GeoCLIP's real heads and full gallery behind the stand-in tower (768 outputs) on `device`.
fn predictor(device: &Device) -> Predictor {
    let tower = load_clip_vision(&common::test_tower_dir(), device).expect("tower loads");
    let heads = load_heads(&default_model_dir(), device).expect("shipped heads");
    let (points, embeddings) = gallery();
    let geolocator =
        Geolocator::from_parts(heads, points.clone(), embeddings, device).expect("fits");
    Predictor::from_parts(tower, geolocator, device).expect("768 features")
}

fn photo(name: &str) -> RgbImage {
    decode_photo(&common::fixture(name)).expect("decodes")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn the_tiny_clip_tower_matches_transformers_on_wgpu() {
    let Some(gpu) = common::wgpu_or_skip("the_tiny_clip_tower_matches_transformers_on_wgpu") else {
        return;
    };
    #[derive(serde::Deserialize)]
    struct Reference {
        pixels: Vec<f32>,
        image_embeds: Vec<Vec<f32>>,
    }
    let dir = common::fixture("clip_tiny");
    let reference: Reference = serde_json::from_str(
        &std::fs::read_to_string(dir.join("reference.json")).expect("fixture"),
    )
    .expect("parses");
    let tower = load_clip_vision(&dir, &gpu.device).expect("tiny tower loads");
    let pixels = Tensor::<4>::from_data(
        TensorData::new(reference.pixels, [2, 3, 28, 28]),
        &gpu.device,
    );
    let ours = read_floats(tower.forward(pixels)).expect("read back");
    let diff = max_abs_diff(&ours, &reference.image_embeds.concat());
    assert!(diff < 1e-4, "max abs diff {diff} on {}", gpu.description);
}

#[test]
fn the_full_gallery_on_wgpu_gives_the_cpus_answer() {
    let Some(gpu) = common::wgpu_or_skip("the_full_gallery_on_wgpu_gives_the_cpus_answer") else {
        return;
    };
    assert_eq!(gpu.kind, BackendKind::Gpu);
    let on_gpu = predictor(&gpu.device);
    let on_cpu = predictor(&cpu_device());
    let limit = gpu.max_tensor_bytes.expect("a GPU has a buffer limit");
    let gallery_bytes = 4 * 512 * gallery().1.n as u64;
    assert_eq!(gallery_bytes, 204_800_000);
    let blocks = on_gpu.geolocator().gallery_blocks();
    assert_eq!(blocks as u64, gallery_bytes.div_ceil(limit - limit % 2048));
    if limit < gallery_bytes {
        assert!(
            blocks >= 2,
            "{} holds the gallery in {blocks} block",
            gpu.description
        );
    }
    assert_eq!(on_cpu.geolocator().gallery_blocks(), 1);

    let photos = [photo("photos/rocket.jpg"), photo("photos/coffee.png")];
    let refs: Vec<&RgbImage> = photos.iter().collect();
    let gpu_answers = on_gpu.predict_photos(&refs).expect("wgpu predicts");
    let cpu_answers = on_cpu.predict_photos(&refs).expect("cpu predicts");
    for ((g, _), (c, _)) in gpu_answers.iter().zip(&cpu_answers) {
        let g5: Vec<(f64, f64)> = g
            .top_points(5)
            .iter()
            .map(|p| (p.lat_deg, p.lon_deg))
            .collect();
        let c5: Vec<(f64, f64)> = c
            .top_points(5)
            .iter()
            .map(|p| (p.lat_deg, p.lon_deg))
            .collect();
        assert_eq!(g5, c5, "top-5 gallery points");
        let diff = max_abs_diff(g.point_probabilities(), c.point_probabilities());
        let top = c.best_guess().expect("a guess").probability as f32;
        assert!(
            diff <= 1e-4 * top.max(1e-3),
            "probabilities differ by {diff} (top {top})"
        );
        let total: f32 = g.point_probabilities().iter().sum();
        assert!((total - 1.0).abs() < 1e-3, "{total}");
        let (gp, cp) = (
            g.top_places(Granularity::Fine, 3),
            c.top_places(Granularity::Fine, 3),
        );
        for (a, b) in gp.iter().zip(&cp) {
            assert_eq!(a.token, b.token, "top places");
            assert!(
                (a.probability - b.probability).abs() < 1e-6,
                "{a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn an_occlusion_map_on_wgpu_matches_the_cpu() {
    let Some(gpu) = common::wgpu_or_skip("an_occlusion_map_on_wgpu_matches_the_cpu") else {
        return;
    };
    let coffee = photo("photos/coffee.png");
    let map = |p: &Predictor| {
        p.occlusion_map(&coffee, Granularity::Coarse, 2, 4, |_, _| (), || false)
            .expect("runs")
            .expect("not cancelled")
    };
    let (g, c) = (map(&predictor(&gpu.device)), map(&predictor(&cpu_device())));
    assert_eq!(g.top_place.token, c.top_place.token);
    assert_eq!(g.drops.len(), 4);
    let diff = max_abs_diff(&g.drops, &c.drops);
    assert!(
        diff < 1e-4,
        "drops differ by {diff}: {:?} vs {:?}",
        g.drops,
        c.drops
    );
}

#[test]
fn aerial_tiles_rank_the_same_with_clip_towers_on_wgpu() {
    let Some(gpu) = common::wgpu_or_skip("aerial_tiles_rank_the_same_with_clip_towers_on_wgpu")
    else {
        return;
    };
    let ground = photo("photos/rocket.jpg");
    // Tiles of other colours and patterns, and a crop of the photo itself.
    let tiles: Vec<RgbImage> = (0..5u8)
        .map(|i| {
            RgbImage::from_fn(256, 256, |x, y| {
                let v = ((x / (8 + u32::from(i) * 8) + y / 16) % 2) as u8 * 200;
                image::Rgb([v, 40 * i, 255 - v])
            })
        })
        .chain([image::imageops::crop_imm(&ground, 0, 0, 256, 256).to_image()])
        .collect();
    let pairs: Vec<(Candidate, &RgbImage)> = tiles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let candidate = Candidate {
                tile: TileId {
                    zoom: 17,
                    x: 70_000,
                    y: 40_000 + i as u32,
                },
                place_rank: 0,
                prior: 1.0 / 6.0,
            };
            (candidate, t)
        })
        .collect();
    let rank = |p: &Predictor| {
        geolens::aerial::rank::rank_tiles(&ClipTowers::new(p), &ground, &pairs, 0.5).expect("ranks")
    };
    let (g, c) = (
        rank(&predictor(&gpu.device)),
        rank(&predictor(&cpu_device())),
    );
    let order = |r: &[geolens::aerial::rank::RankedTile]| -> Vec<TileId> {
        r.iter().map(|t| t.tile()).collect()
    };
    assert_eq!(order(&g), order(&c));
    for (a, b) in g.iter().zip(&c) {
        assert!((a.distance - b.distance).abs() < 1e-4, "{a:?} vs {b:?}");
    }
}

/// `geolens predict` with per-user folders in the target directory, on `backend`.
fn predict_cli(backend: &str, photo: &PathBuf) -> serde_json::Value {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = common::geolens()
        .env("XDG_CACHE_HOME", tmp.join("xdg-cache"))
        .env("XDG_DATA_HOME", tmp.join("xdg-data-empty"))
        .env("XDG_CONFIG_HOME", tmp.join("xdg-config"))
        .args(["--backend", backend, "--model-dir"])
        .arg(common::test_tower_dir())
        .args(["predict", "--format", "json"])
        .arg(photo)
        .output()
        .expect("run geolens");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "--backend {backend}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn geolens_predict_gives_the_same_best_guess_on_the_gpu_and_the_cpu() {
    if common::wgpu_or_skip("geolens_predict_gives_the_same_best_guess_on_the_gpu_and_the_cpu")
        .is_none()
    {
        return;
    }
    common::warm_gallery_cache();
    let photo = common::fixture("photos/rocket.jpg");
    let (gpu, cpu) = (predict_cli("gpu", &photo), predict_cli("cpu", &photo));
    let best = |doc: &serde_json::Value| doc["photos"][0]["best_guess"].clone();
    assert!(best(&cpu)["lat_deg"].is_number(), "{cpu}");
    assert_eq!(best(&gpu)["lat_deg"], best(&cpu)["lat_deg"]);
    assert_eq!(best(&gpu)["lon_deg"], best(&cpu)["lon_deg"]);
    assert_eq!(
        gpu["photos"][0]["places"][0]["token"],
        cpu["photos"][0]["places"][0]["token"]
    );
}
