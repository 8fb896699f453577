//! Element-wise steps of the tower done by hand on the CPU, where burn's `flex` backend runs
//! them as scalar loops on one core: QuickGELU (`x * sigmoid(1.702 x)`: a million `exp` a layer
//! for one photo) and the attention softmax. Here they are one pass over the values, spread
//! over rayon's pool (the threads `--threads` sets), with an `exp` written so that the compiler
//! vectorises it (AVX2 + FMA when the CPU has them, picked at run time).
//!
//! Measured on ViT-L/14 (`examples/tower_ops`, 2 threads): see `models/README.md`. On any
//! other device, or for a tensor that is not float32, the plain burn ops run instead; the two
//! paths agree up to float rounding (tests compare them).

use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use crate::model::backend::cpu_device;

/// Values per rayon task: large enough that splitting costs nothing next to the work.
const CHUNK: usize = 16 * 1024;

/// CLIP's activation, `x * sigmoid(1.702 x)`.
pub fn quick_gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_cpu_as_f32(&x) {
        return x.clone() * sigmoid(x.mul_scalar(1.702));
    }
    map_on_cpu(x, quick_gelu_in_place)
}

/// [`quick_gelu`] on values in memory, over rayon's pool.
pub fn quick_gelu_in_place(values: &mut [f32]) {
    values
        .par_chunks_mut(CHUNK)
        .for_each(|chunk| run_vectorised(chunk, quick_gelu_slice));
}

/// Softmax of each `row_len` values of `values` (a whole number of rows), on this thread.
pub fn softmax_rows_in_place(values: &mut [f32], row_len: usize) {
    for row in values.chunks_mut(row_len.max(1)) {
        run_vectorised(row, softmax_row);
    }
}

/// LayerNorm of each row of `x` (`gamma.len()` values a row) in place: `(x - mean) /
/// sqrt(var + eps) * gamma + beta`, mean and (biased) variance in two passes, rows spread over
/// rayon's pool.
pub fn layer_norm_in_place(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let width = gamma.len().max(1);
    let rows_per_task = (CHUNK / width).max(1);
    x.par_chunks_mut(width * rows_per_task).for_each(|rows| {
        for row in rows.chunks_mut(width) {
            run_vectorised(row, |row| layer_norm_row(row, gamma, beta, eps));
        }
    });
}

/// [`layer_norm_in_place`] of `x` written to `out` (same length), `x` left as it is.
pub fn layer_norm_into(x: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    out.copy_from_slice(x);
    layer_norm_in_place(out, gamma, beta, eps);
}

#[inline(always)]
fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = lanes(row, 0.0, |s, v| s + v) / n;
    let mut squares = [0.0f32; 16];
    let chunks = row.chunks_exact(16);
    let rest: f32 = chunks
        .remainder()
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum();
    for chunk in chunks {
        for (s, &v) in squares.iter_mut().zip(chunk) {
            *s += (v - mean) * (v - mean);
        }
    }
    let var = (squares.iter().sum::<f32>() + rest) / n;
    let inv_std = 1.0 / (var + eps).sqrt();
    for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv_std * g + b;
    }
}

/// Adds `row` to every `row.len()` values of `x` (a bias over a matrix's rows).
pub fn add_to_rows(x: &mut [f32], row: &[f32]) {
    let width = row.len().max(1);
    let rows_per_task = (CHUNK / width).max(1);
    x.par_chunks_mut(width * rows_per_task).for_each(|rows| {
        for r in rows.chunks_mut(width) {
            for (v, &b) in r.iter_mut().zip(row) {
                *v += b;
            }
        }
    });
}

/// A matrix in memory, read-only: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
/// A transposed or strided view (one head's columns of the q/k/v rows) costs no copy.
#[derive(Debug, Clone, Copy)]
pub struct MatrixView<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatrixView<'a> {
    /// A row-major `rows x cols` matrix at the start of `data`.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same values read as the transposed matrix.
    pub fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Whether every element lies inside `data`.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `dst = lhs rhs`, or `dst += lhs rhs` when `accumulate`, with `dst` row-major
/// (`lhs.rows x rhs.cols`, rows `dst_row_stride` apart), by the `gemm` crate flex uses (its
/// AVX-512 kernels where the CPU has them), over rayon's pool when `parallel`. Panics on shapes
/// that do not fit the slices: the callers compute them from the tower's own config.
pub fn matmul(
    dst: &mut [f32],
    dst_row_stride: usize,
    lhs: MatrixView,
    rhs: MatrixView,
    accumulate: bool,
    parallel: bool,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions differ");
    assert!(
        lhs.in_bounds() && rhs.in_bounds(),
        "matmul: view out of bounds"
    );
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_row_stride + n <= dst.len(),
        "matmul: destination too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every element gemm reads or writes lies inside the slices (asserted above), and
    // `dst` is borrowed mutably, so it overlaps neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Softmax over the last dimension.
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !on_cpu_as_f32(&x) {
        return softmax(x, D - 1);
    }
    let row_len = x.dims()[D - 1].max(1);
    // Whole rows per task, about CHUNK values.
    let rows_per_task = (CHUNK / row_len).max(1);
    map_on_cpu(x, |values| {
        values
            .par_chunks_mut(row_len * rows_per_task)
            .for_each(|rows| softmax_rows_in_place(rows, row_len));
    })
}

/// Whether the kernels here apply: a float32 tensor on the CPU backend.
fn on_cpu_as_f32<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && x.device() == cpu_device()
}

/// Takes a float32 tensor's values (on flex, without a copy when nothing else holds them),
/// changes them in place with `f`, and makes a tensor of them on the same device. Should
/// reading fail after all (flex's read-back cannot fail for a float32 tensor), the result is
/// NaN, which the prediction reports as an error, rather than a panic.
fn map_on_cpu<const D: usize>(x: Tensor<D>, f: impl FnOnce(&mut [f32])) -> Tensor<D> {
    let (shape, device) = (x.shape(), x.device());
    let values = x
        .try_into_data()
        .ok()
        .and_then(|data| data.try_into_vec::<f32>().ok());
    let Some(mut values) = values else {
        return Tensor::full(shape, f32::NAN, &device);
    };
    f(&mut values);
    Tensor::from_data(TensorData::new(values, shape), &device)
}

/// Runs `f` on `values` compiled for AVX2 and FMA when the CPU has them (`f` is inlined into
/// the AVX2 copy, so it must be a function item or closure, not a pointer).
fn run_vectorised<F: Fn(&mut [f32])>(values: &mut [f32], f: F) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has both features, checked just above.
        unsafe { with_avx2_fma(values, f) };
        return;
    }
    f(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn with_avx2_fma<F: Fn(&mut [f32])>(values: &mut [f32], f: F) {
    f(values)
}

#[inline(always)]
fn quick_gelu_slice(values: &mut [f32]) {
    for v in values.iter_mut() {
        *v /= 1.0 + exp(-1.702 * *v);
    }
}

#[inline(always)]
fn softmax_row(row: &mut [f32]) {
    let max = lanes(row, f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
    for v in row.iter_mut() {
        *v = exp(*v - max);
    }
    let scale = 1.0 / lanes(row, 0.0, |s, v| s + v);
    for v in row.iter_mut() {
        *v *= scale;
    }
}

/// Folds `values` with `f` in 16 independent lanes, then the lanes together: the same result
/// as a plain fold for max, a reordered one for sums, and a loop the compiler vectorises
/// (a single running sum of floats is a chain it must keep in order).
#[inline(always)]
fn lanes(values: &[f32], start: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [start; 16];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = f(*a, v);
        }
    }
    let folded = acc.iter().fold(start, |a, &v| f(a, v));
    rest.iter().fold(folded, |a, &v| f(a, v))
}

/// `e^x` to within 2 units in the last place for every float32 input (inputs beyond the
/// float32 range are clamped: 1.2e-38 below -87.3, 2.2e38 above 88.3, NaN stays NaN). Cephes' expf:
/// `x = n ln 2 + r` with `|r| <= ln 2 / 2`, a degree-6 polynomial for `e^r`, and `2^n` put
/// into the exponent bits; branch-free so that loops over it vectorise.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding it rounds to an integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    // Plain products and sums, not `mul_add`: without FMA in the target that is a library
    // call per value.
    let x = x.clamp(-87.3, 88.3);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = ((((1.987_569_1e-4_f32 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let e_r = (p * r) * r + r + 1.0;
    // n in [-126, 128] as the low bits of t; 2^n built in the exponent field.
    let n_bits = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let two_n = f32::from_bits((n_bits.wrapping_add(127) << 23) as u32);
    e_r * two_n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_over_the_float_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            let ulp = f64::from(f32::EPSILON) * want;
            worst = worst.max((got - want).abs() / ulp);
            x += 0.0137;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1000.0), exp(-87.3));
        assert!(exp(-1000.0) < 1e-37);
        assert!(exp(1000.0) > 2e38 && exp(1000.0).is_finite());
        assert!(exp(f32::NAN).is_nan());
    }

    fn tensor(values: Vec<f32>, shape: [usize; 3]) -> Tensor<3> {
        Tensor::from_data(TensorData::new(values, shape), &cpu_device())
    }

    fn close(a: Tensor<3>, b: Tensor<3>, tolerance: f32) {
        let a = a.into_data().try_into_vec::<f32>().expect("floats");
        let b = b.into_data().try_into_vec::<f32>().expect("floats");
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= tolerance * y.abs().max(1.0), "{x} vs {y}");
        }
    }

    #[test]
    fn kernels_match_burns_own_ops() {
        // Values over the range a tower sees, more than one rayon chunk, odd row length.
        let n = 3 * 257 * 61;
        let values: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 2001) as f32 / 50.0 - 20.0)
            .collect();
        let x = tensor(values, [3, 257, 61]);
        close(
            quick_gelu(x.clone()),
            x.clone() * sigmoid(x.clone().mul_scalar(1.702)),
            1e-6,
        );
        close(softmax_last(x.clone()), softmax(x, 2), 1e-6);
    }
}
