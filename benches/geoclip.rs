//! GeoCLIP heads over the shipped 100k gallery, printed as tables: `cargo bench --bench geoclip`.
//!
//! 1. Costs: weight loading, embedding the gallery (done once, then cached), the cache file
//!    written and read, scoring one image against 100k points, cell probabilities.
//! 2. Storage precision of the cached gallery embeddings: for query image embeddings (the image
//!    head applied to seeded Gaussian CLIP-like features), how often each storage precision
//!    keeps the top-5 gallery points identical to float32.

use std::hint::black_box;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use geolens::geo::geocells::Granularity;
use geolens::model::backend::cpu_device;
use geolens::model::geoclip::gallery::{GALLERY_FILE, GalleryEmbeddings, load_gallery};
use geolens::model::geoclip::scoring::top_k;
use geolens::model::geoclip::weights::{default_model_dir, load_heads};
use geolens::predict::Geolocator;

const QUERIES: usize = 200;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn row(case: &str, value: f64) {
    println!("{case:<56} {value:>12.1}");
}

/// Deterministic standard normals (xorshift64* + Box-Muller).
fn gaussians(n: usize, mut state: u64) -> Vec<f32> {
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u1, u2) = (uniform(), uniform());
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

/// Each row scaled to [-127, 127] by its own max, rounded, scaled back: 8-bit storage.
fn int8_rows(e: &GalleryEmbeddings) -> GalleryEmbeddings {
    let values = e
        .values
        .chunks(e.dim)
        .flat_map(|r| {
            let scale = r.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            r.iter().map(move |v| (v / scale).round() * scale)
        })
        .collect();
    GalleryEmbeddings {
        values,
        ..e.clone()
    }
}

fn rounded(e: &GalleryEmbeddings, round: impl Fn(f32) -> f32) -> GalleryEmbeddings {
    GalleryEmbeddings {
        values: e.values.iter().map(|v| round(*v)).collect(),
        ..e.clone()
    }
}

fn main() {
    let device = cpu_device();
    let dir = default_model_dir();
    println!("{:<56} {:>12}", "case (CPU, flex, release)", "ms");
    let t = Instant::now();
    let heads = load_heads(&dir, &device).expect("shipped GeoCLIP records");
    row("load heads (41.7 MB safetensors)", ms(t));

    let t = Instant::now();
    let points = load_gallery(&dir.join(GALLERY_FILE)).expect("shipped gallery");
    row("read gallery CSV (100k points)", ms(t));

    let t = Instant::now();
    let gallery = GalleryEmbeddings::compute(&heads.location, &points, &device, |_, _| ())
        .expect("gallery embeds");
    row(
        &format!(
            "embed gallery ({} x {}, first run only)",
            gallery.n, gallery.dim
        ),
        ms(t),
    );

    let cache = std::env::temp_dir().join(format!("geolens-bench-{}.f16", std::process::id()));
    let t = Instant::now();
    let bytes = gallery.to_cache_bytes();
    std::fs::write(&cache, &bytes).expect("write cache");
    row(
        &format!("write cache file ({:.1} MB, f32)", bytes.len() as f64 / 1e6),
        ms(t),
    );
    let t = Instant::now();
    let cached = GalleryEmbeddings::from_cache_bytes(&std::fs::read(&cache).expect("read"))
        .expect("cache parses");
    row("read cache file (later runs)", ms(t));
    let _ = std::fs::remove_file(&cache);

    // Query image embeddings: the real image head on seeded Gaussian 768-d features.
    let features = Tensor::<2>::from_data(
        TensorData::new(
            gaussians(QUERIES * 768, 0x9E37_79B9_7F4A_7C15),
            [QUERIES, 768],
        ),
        &device,
    );
    let queries = heads.image.forward(features.clone());
    let top5 = |e: &GalleryEmbeddings| -> (Vec<Vec<usize>>, Vec<Vec<f32>>) {
        let probs = e
            .to_matrix(&device, None)
            .expect("fits")
            .probabilities(queries.clone(), heads.scalars.logit_scale)
            .expect("scores");
        probs
            .chunks(e.n)
            .map(|r| {
                let top = top_k(r, 5);
                (
                    top.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                    top.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
                )
            })
            .unzip()
    };

    let mut times = Vec::new();
    let matrix = gallery.to_matrix(&device, None).expect("fits");
    for q in 0..10 {
        let t = Instant::now();
        let probs = matrix
            .probabilities(
                queries.clone().slice([q..q + 1, 0..512]),
                heads.scalars.logit_scale,
            )
            .expect("scores");
        black_box(top_k(&probs, 5));
        times.push(ms(t));
    }
    times.sort_by(f64::total_cmp);
    row(
        "score one image vs 100k gallery + top-5 (median of 10)",
        times[times.len() / 2],
    );

    let t = Instant::now();
    let geolocator =
        Geolocator::from_parts(heads.clone(), points, &cached, &device).expect("parts fit");
    row("index gallery in the 3 geocell levels (once)", ms(t));
    let one = features.clone().slice([0..1, 0..768]);
    let prediction = geolocator
        .predict_features(one)
        .expect("predicts")
        .pop()
        .expect("one");
    let t = Instant::now();
    for _ in 0..10 {
        black_box(prediction.cell_probabilities(Granularity::Fine));
    }
    row("cell probabilities, fine level (4,170 cells)", ms(t) / 10.0);

    // The photo's clock: Tokyo time on a spring morning.
    let facts = geolens::photo::exif::PhotoFacts {
        taken_at: Some("2019:04:03 09:30:00".into()),
        utc_offset: Some("+09:00".into()),
        ..Default::default()
    };
    let t = Instant::now();
    black_box(prediction.clock_answer(&facts).expect("reads"));
    row(
        "clock prior, first photo (looks up 100k points' zones)",
        ms(t),
    );
    let t = Instant::now();
    for _ in 0..10 {
        black_box(prediction.clock_answer(&facts).expect("reads"));
    }
    row(
        "clock prior, each later photo (zones kept, reweight)",
        ms(t) / 10.0,
    );

    println!();
    println!(
        "{:<10} {:>10} {:>22} {:>20}",
        "storage", "MB", "ordered top-5 same", "max |dp| in top-5"
    );
    let (ref_idx, ref_p) = top5(&gallery);
    for (name, e, bytes_per_value) in [
        ("f32 (ref)", gallery.clone(), 4.0),
        (
            "f16",
            rounded(&gallery, |v| half::f16::from_f32(v).to_f32()),
            2.0,
        ),
        (
            "bf16",
            rounded(&gallery, |v| half::bf16::from_f32(v).to_f32()),
            2.0,
        ),
        ("int8", int8_rows(&gallery), 1.0),
    ] {
        let (idx, p) = top5(&e);
        let same = idx.iter().zip(&ref_idx).filter(|(a, b)| a == b).count();
        let max_dp = p
            .iter()
            .flatten()
            .zip(ref_p.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!(
            "{name:<10} {:>10.1} {:>15} / {QUERIES:<4} {max_dp:>20.2e}",
            (e.n * e.dim) as f64 * bytes_per_value / 1e6,
            same
        );
    }
}
