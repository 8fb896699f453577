//! Where a ViT-L/14 forward pass spends its time on the CPU backend: each kind of operation at
//! the tower's shapes (one 224x224 photo: 257 tokens, width 1024, 16 heads, MLP 4096), times
//! how often one pass runs it. For the CPU-speed work (models/README.md).
//!
//! ```text
//! cargo run --release --example tower_ops -- [THREADS]
//! ```
use burn::nn::{LayerNormConfig, LinearConfig};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Distribution, Tensor};
use geolens::model::clip::cpu_kernels::{quick_gelu, softmax_last};
use std::time::Instant;

fn time<F: FnMut() -> Tensor<3>>(name: &str, count: usize, mut f: F) -> f64 {
    let _ = f().into_data();
    let reps = 30;
    let start = Instant::now();
    for _ in 0..reps {
        let _ = f().into_data();
    }
    let ms = start.elapsed().as_secs_f64() * 1e3 / reps as f64;
    println!(
        "{name:<28} {ms:8.2} ms x {count:3} = {:8.1} ms",
        ms * count as f64
    );
    ms * count as f64
}

fn main() {
    geolens::model::backend::set_cpu_threads(std::env::args().nth(1).and_then(|t| t.parse().ok()));
    let d = geolens::model::backend::cpu_device();
    let x = Tensor::<3>::random([1, 257, 1024], Distribution::Normal(0.0, 1.0), &d);
    let h = Tensor::<3>::random([1, 257, 4096], Distribution::Normal(0.0, 1.0), &d);
    let q4 = Tensor::<4>::random([1, 16, 257, 64], Distribution::Normal(0.0, 1.0), &d);
    let s4 = Tensor::<4>::random([1, 16, 257, 257], Distribution::Normal(0.0, 1.0), &d);
    let qkv = LinearConfig::new(1024, 1024).init(&d);
    let fc1 = LinearConfig::new(1024, 4096).init(&d);
    let fc2 = LinearConfig::new(4096, 1024).init(&d);
    let ln = LayerNormConfig::new(1024).init(&d);
    let mut total = 0.0;
    total += time("linear 1024->1024", 96, || qkv.forward(x.clone()));
    total += time("linear 1024->4096", 24, || fc1.forward(x.clone()));
    total += time("linear 4096->1024", 24, || fc2.forward(h.clone()));
    total += time("layernorm", 49, || ln.forward(x.clone()));
    time("quick_gelu as burn ops", 24, || {
        let h = h.clone().mul_scalar(1.0);
        h.clone() * sigmoid(h.mul_scalar(1.702))
    });
    // The kernels take their input's values without a copy when nothing else holds them, as
    // in the tower: a fresh tensor each run (`mul_scalar(1.0)`, about 0.2 ms) for both.
    total += time("quick_gelu (cpu_kernels)", 24, || {
        quick_gelu(h.clone().mul_scalar(1.0))
    });
    total += time("q k^T", 24, || {
        q4.clone()
            .matmul(q4.clone().swap_dims(2, 3))
            .reshape([16, 257, 257])
    });
    time("softmax as burn op", 24, || {
        softmax(s4.clone().mul_scalar(1.0), 3).reshape([16, 257, 257])
    });
    total += time("softmax (cpu_kernels)", 24, || {
        softmax_last(s4.clone().mul_scalar(1.0)).reshape([16, 257, 257])
    });
    total += time("weights v", 24, || {
        s4.clone().matmul(q4.clone()).reshape([16, 257, 64])
    });
    total += time("split heads + merge", 96, || {
        x.clone()
            .reshape([1, 257, 16, 64])
            .swap_dims(1, 2)
            .swap_dims(1, 2)
            .reshape([1, 257, 1024])
    });
    total += time("residual add", 48, || x.clone() + x.clone());
    total += time("scale q", 24, || x.clone().mul_scalar(0.125));
    println!("sum (cpu_kernels rows) ~ {total:.0} ms");
}
