//! GeoCLIP scoring: both embeddings L2-normalised, logits = exp(logit_scale) * cosine,
//! softmax over the gallery.
//!
//! On a device whose buffers are smaller than the gallery (100k x 512 float32 = 204.8 MB, over
//! WebGPU's and lavapipe's 128 MiB binding limit), the gallery is held in column blocks that
//! each fit one buffer; each block's logits are read back and the softmax is taken on the
//! host over the whole row, so the answer is exactly that of one pass.

use burn::tensor::{Device, Tensor, TensorData};

use crate::model::ModelError;
use crate::model::device_io::{read_floats, rows_per_buffer};

/// Rows scaled to unit length (rows of zeros stay zero).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// The unit-length gallery embeddings on the device, `[dim, n]` split into column blocks that
/// each fit one buffer of the device (one block on the CPU).
#[derive(Debug, Clone)]
pub struct GalleryMatrix {
    blocks: Vec<Tensor<2>>,
    n: usize,
    dim: usize,
    max_tensor_bytes: Option<u64>,
}

impl GalleryMatrix {
    /// Lays row-major `[n, dim]` unit embeddings out as `[dim, block]` column blocks (the
    /// layout scoring multiplies by, done once rather than transposed on every query).
    pub fn new(
        values: &[f32],
        n: usize,
        dim: usize,
        device: &Device,
        max_tensor_bytes: Option<u64>,
    ) -> Result<Self, ModelError> {
        if values.len() != n * dim {
            return Err(ModelError::Shape(format!(
                "{} gallery values for {n} points of {dim}",
                values.len()
            )));
        }
        let column_bytes = 4 * dim as u64;
        let per_block = rows_per_buffer("one gallery point", column_bytes, n, max_tensor_bytes)?;
        let mut blocks = Vec::new();
        for start in (0..n).step_by(per_block.max(1)) {
            let cols = per_block.min(n - start);
            let mut transposed = vec![0f32; cols * dim];
            for (i, row) in values[start * dim..(start + cols) * dim]
                .chunks(dim.max(1))
                .enumerate()
            {
                for (j, v) in row.iter().enumerate() {
                    transposed[j * cols + i] = *v;
                }
            }
            blocks.push(Tensor::from_data(
                TensorData::new(transposed, [dim, cols]),
                device,
            ));
        }
        Ok(Self {
            blocks,
            n,
            dim,
            max_tensor_bytes,
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The largest buffer one tensor may occupy on its device (`None`: no limit).
    pub fn max_tensor_bytes(&self) -> Option<u64> {
        self.max_tensor_bytes
    }

    /// How many device buffers the gallery occupies.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Gallery probabilities, row-major `[n_images, n]`, of image embeddings `[n_images, dim]`.
    pub fn probabilities(
        &self,
        image_embeddings: Tensor<2>,
        logit_scale: f32,
    ) -> Result<Vec<f32>, ModelError> {
        let [n_images, dim] = image_embeddings.dims();
        if dim != self.dim {
            return Err(ModelError::Shape(format!(
                "image embeddings of {dim} values for a gallery of {}",
                self.dim
            )));
        }
        let widest = self.blocks.iter().map(|b| b.dims()[1]).max().unwrap_or(1) as u64;
        let images_per_pass = rows_per_buffer(
            "one photo's gallery logits",
            4 * widest,
            n_images.max(1),
            self.max_tensor_bytes,
        )?;
        let queries = l2_normalize(image_embeddings).mul_scalar(f64::from(logit_scale).exp());
        let mut out = vec![0f32; n_images * self.n];
        for first in (0..n_images).step_by(images_per_pass) {
            let last = (first + images_per_pass).min(n_images);
            let q = queries.clone().slice([first..last, 0..dim]);
            let mut column = 0;
            for block in &self.blocks {
                let cols = block.dims()[1];
                let logits = read_floats(q.clone().matmul(block.clone()))?;
                if let Some(bad) = logits.iter().find(|v| !v.is_finite()) {
                    return Err(ModelError::NonFinite(format!(
                        "a gallery logit is {bad}; the weights are damaged"
                    )));
                }
                for (r, row) in logits.chunks(cols).enumerate() {
                    let at = (first + r) * self.n + column;
                    out[at..at + cols].copy_from_slice(row);
                }
                column += cols;
            }
        }
        for row in out.chunks_mut(self.n.max(1)) {
            softmax_in_place(row);
        }
        Ok(out)
    }
}

/// Softmax of one row of logits, in place: `exp(x - max) / sum`, summed in float64.
pub fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f64;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += f64::from(*v);
    }
    let sum = sum as f32;
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// The `k` largest entries of a row, as (index, value), largest first.
pub fn top_k(row: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut indexed: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
    let k = k.min(indexed.len());
    if k == 0 {
        return Vec::new();
    }
    indexed.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
    indexed.truncate(k);
    indexed.sort_by(|a, b| b.1.total_cmp(&a.1));
    indexed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::cpu_device;
    use burn::tensor::TensorData;
    use burn::tensor::activation::softmax;

    /// The single-pass reference: probabilities `[n_images, n_gallery]` with burn's own
    /// softmax over the whole `[dim, n_gallery]` gallery in one tensor.
    fn gallery_probabilities(
        image_embeddings: Tensor<2>,
        gallery_unit_t: Tensor<2>,
        logit_scale: f32,
    ) -> Tensor<2> {
        let logits = l2_normalize(image_embeddings)
            .matmul(gallery_unit_t)
            .mul_scalar(f64::from(logit_scale).exp());
        softmax(logits, 1)
    }

    #[test]
    fn top_k_picks_the_largest_in_order() {
        assert_eq!(top_k(&[0.1, 0.5, 0.2, 0.9], 2), vec![(3, 0.9), (1, 0.5)]);
        assert_eq!(top_k(&[0.3], 5), vec![(0, 0.3)]);
        assert!(top_k(&[], 3).is_empty());
    }

    #[test]
    fn probabilities_sum_to_one_and_favour_the_aligned_location() {
        let device = cpu_device();
        let image = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.0], [1, 2]), &device);
        let gallery = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 0.0, -1.0, 0.0, 1.0, 0.0], [2, 3]),
            &device,
        );
        let p = gallery_probabilities(image, gallery, 3.681)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let scale = 3.681f32.exp();
        // softmax of [s, 0, -s]
        let z = scale.exp() + 1.0 + (-scale).exp();
        assert!((p[0] - scale.exp() / z).abs() < 1e-5 && p[0] > p[1] && p[1] > p[2]);
    }

    /// Seeded values in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 40) as f32 / (1u64 << 23) as f32) - 1.0
            })
            .collect()
    }

    #[test]
    fn blocked_scoring_equals_one_pass_and_respects_the_limit() {
        let device = cpu_device();
        let (n, dim, images) = (1000, 16, 5);
        let rows = noise(n * dim, 3);
        let unit: Vec<f32> = rows
            .chunks(dim)
            .flat_map(|r| {
                let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt();
                r.iter().map(move |v| v / norm).collect::<Vec<_>>()
            })
            .collect();
        let queries = Tensor::<2>::from_data(
            TensorData::new(noise(images * dim, 9), [images, dim]),
            &device,
        );
        let whole = GalleryMatrix::new(&unit, n, dim, &device, None).expect("fits");
        assert_eq!(whole.block_count(), 1);
        let one_pass = whole.probabilities(queries.clone(), 3.0).expect("scores");
        // 16 floats a point in at most 1 KiB: 16 points a block, 63 blocks.
        let blocked = GalleryMatrix::new(&unit, n, dim, &device, Some(1024)).expect("fits");
        assert_eq!(blocked.block_count(), 63);
        let chunked = blocked.probabilities(queries.clone(), 3.0).expect("scores");
        assert_eq!(one_pass.len(), images * n);
        let max_diff = one_pass
            .iter()
            .zip(&chunked)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 1e-7, "max difference {max_diff}");
        for (a, b) in one_pass.chunks(n).zip(chunked.chunks(n)) {
            assert_eq!(top_k(a, 5), top_k(b, 5));
            assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        // The same as burn's own softmax over the whole gallery in one tensor.
        let reference = gallery_probabilities(
            queries,
            Tensor::<2>::from_data(TensorData::new(transpose(&unit, n, dim), [dim, n]), &device),
            3.0,
        )
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
        let max_diff = reference
            .iter()
            .zip(&chunked)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 1e-6, "against burn's softmax: {max_diff}");
        // Damaged weights (NaN in an embedding) are an error, never a NaN probability.
        let mut nan = noise(images * dim, 9);
        nan[3] = f32::NAN;
        let nan = Tensor::<2>::from_data(TensorData::new(nan, [images, dim]), &device);
        let err = blocked
            .probabilities(nan, 3.0)
            .expect_err("NaN")
            .to_string();
        assert!(err.contains("not a number"), "{err}");
        // A single point wider than a buffer is an error naming the limit.
        let err = GalleryMatrix::new(&unit, n, dim, &device, Some(32))
            .expect_err("64 bytes a point")
            .to_string();
        assert!(
            err.contains("64 bytes") && err.contains("32 bytes"),
            "{err}"
        );
    }

    fn transpose(values: &[f32], n: usize, dim: usize) -> Vec<f32> {
        let mut t = vec![0f32; n * dim];
        for i in 0..n {
            for j in 0..dim {
                t[j * n + i] = values[i * dim + j];
            }
        }
        t
    }
}
