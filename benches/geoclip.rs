//! GeoCLIP heads on the CPU, printed as a table: `cargo bench --bench geoclip`.
//!
//! Weight loading, embedding a 100k-point location gallery (done once and cached), and scoring
//! one image embedding against it. The gallery is a Fibonacci lattice of 100k points: the cost
//! does not depend on where the points are, and the real gallery is not shipped.

use std::hint::black_box;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use geolens::model::backend::cpu_device;
use geolens::model::geoclip::scoring::{gallery_probabilities, l2_normalize, top_k};
use geolens::model::geoclip::weights::{default_model_dir, load_heads};

fn lattice(n: usize) -> Vec<(f64, f64)> {
    let golden = (1.0 + 5f64.sqrt()) / 2.0;
    (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            (
                z.asin().to_degrees(),
                ((i as f64 / golden) % 1.0) * 360.0 - 180.0,
            )
        })
        .collect()
}

fn main() {
    let device = cpu_device();
    println!("{:<48} {:>12}", "case (CPU, ndarray)", "ms");
    let t = Instant::now();
    let heads = load_heads(&default_model_dir(), &device).expect("shipped GeoCLIP records");
    println!(
        "{:<48} {:>12.1}",
        "load heads (41.7 MB safetensors)",
        t.elapsed().as_secs_f64() * 1e3
    );

    let gallery = lattice(100_000);
    let t = Instant::now();
    let mut chunks = Vec::new();
    for chunk in gallery.chunks(10_000) {
        chunks.push(l2_normalize(heads.location.embed(chunk, &device)));
    }
    let gallery_unit = Tensor::cat(chunks, 0);
    let [n, d] = gallery_unit.dims();
    let _ = black_box(gallery_unit.clone().slice([0..1, 0..d]).into_data());
    println!(
        "{:<48} {:>12.1}",
        format!("embed gallery ({n} points x {d}, once, cached)"),
        t.elapsed().as_secs_f64() * 1e3
    );

    let image = Tensor::<2>::from_data(TensorData::new(vec![0.01f32; 512], [1, 512]), &device);
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let p = gallery_probabilities(
            image.clone(),
            gallery_unit.clone(),
            heads.scalars.logit_scale,
        );
        let row = p.into_data().try_to_vec::<f32>().expect("f32");
        black_box(top_k(&row, 5));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{:<48} {:>12.2}",
        "score one image vs 100k gallery + top-5 (median)",
        times[times.len() / 2]
    );
}
