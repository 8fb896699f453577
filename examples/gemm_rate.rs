//! GFLOP/s of the CPU matrix product under flex (the `gemm` crate) on ViT-L/14's shapes, to
//! set beside PyTorch's on the same machine (tools/reference/gemm_rate.py).
use std::time::Instant;

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    for (m, k, n) in [
        (2048, 2048, 2048),
        (257, 1024, 4096),
        (257, 4096, 1024),
        (257, 1024, 1024),
    ] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let run = |c: &mut [f32]| unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            )
        };
        for _ in 0..3 {
            run(&mut c);
        }
        let reps = 20;
        let start = Instant::now();
        for _ in 0..reps {
            run(&mut c);
        }
        let s = start.elapsed().as_secs_f64() / reps as f64;
        println!(
            "{threads} threads {m}x{k}x{n}: {:.0} GFLOP/s",
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
}
