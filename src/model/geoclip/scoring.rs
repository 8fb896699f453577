//! GeoCLIP scoring: both embeddings L2-normalised, logits = exp(logit_scale) * cosine,
//! softmax over the gallery.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

/// Rows scaled to unit length (rows of zeros stay zero).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Probabilities `[n_images, n_gallery]` of each gallery location for each image embedding.
/// `gallery_unit_t` is the L2-normalised gallery laid out `[dim, n_gallery]` (computed once and
/// cached).
pub fn gallery_probabilities(
    image_embeddings: Tensor<2>,
    gallery_unit_t: Tensor<2>,
    logit_scale: f32,
) -> Tensor<2> {
    let logits = l2_normalize(image_embeddings)
        .matmul(gallery_unit_t)
        .mul_scalar(f64::from(logit_scale).exp());
    softmax(logits, 1)
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
}
