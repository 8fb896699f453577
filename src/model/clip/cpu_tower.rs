//! CLIP's vision tower run on the CPU as a few fused steps over buffers kept for the whole pass,
//! instead of one burn op (and one fresh tensor) at a time: the same arithmetic as
//! [`ClipVision::forward`](super::vision::ClipVision::forward), which stays the model on every
//! other device.
//!
//! What it saves on flex (measured in `models/README.md`): q, k and v are one product
//! (1024 -> 3072) instead of three; biases are written into the product's destination and
//! the residual stream is the destination of the output and MLP products (no separate add
//! passes); attention reads each head's q, k and v where the projection wrote them and runs
//! the heads side by side on rayon's pool, one `gemm` each, instead of copying them out and
//! back; photos of a batch are rows of the same products (burn-flex gives each photo of a
//! batch its own single-threaded product, which is why batches were slower there).
//!
//! Built by taking a loaded [`ClipVision`] apart (its weights move, they are not copied), so
//! memory holds the weights once.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::cpu_kernels::{
    MatrixView, add_to_rows, layer_norm_in_place, layer_norm_into, matmul, quick_gelu_in_place,
    softmax_rows_in_place,
};
use super::vision::{ClipVision, EncoderLayer};
use crate::model::ModelError;
use crate::model::device_io::read_floats;

/// A linear layer's weights, `[d_in, d_out]` row-major as burn keeps them.
#[derive(Debug)]
struct Dense {
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    fn from_burn(linear: Linear) -> Result<Self, ModelError> {
        let [d_in, d_out] = linear.weight.dims();
        Ok(Self {
            weight: floats(linear.weight)?,
            bias: linear.bias.map(floats).transpose()?,
            d_in,
            d_out,
        })
    }

    /// q, k and v as one layer: their weights side by side (`[d_in, 3 d_out]`), q's scaled by
    /// `q_scale` (attention's `head_dim^-0.5`, exact for ViT-L/14's 64).
    fn fused_qkv(q: Dense, k: Dense, v: Dense, q_scale: f32) -> Result<Self, ModelError> {
        let (d_in, d_out) = (q.d_in, q.d_out);
        if [k.d_in, v.d_in] != [d_in; 2] || [k.d_out, v.d_out] != [d_out; 2] {
            return Err(ModelError::Shape(
                "the attention's q, k and v projections differ in shape".into(),
            ));
        }
        let mut weight = Vec::with_capacity(d_in * 3 * d_out);
        for row in 0..d_in {
            let part = |d: &Dense| d.weight[row * d_out..(row + 1) * d_out].to_vec();
            weight.extend(part(&q).iter().map(|w| w * q_scale));
            weight.extend(part(&k));
            weight.extend(part(&v));
        }
        let bias_of = |d: &Dense, scale: f32| match &d.bias {
            Some(b) => b.iter().map(|v| v * scale).collect(),
            None => vec![0.0; d_out],
        };
        let bias = [bias_of(&q, q_scale), bias_of(&k, 1.0), bias_of(&v, 1.0)].concat();
        Ok(Self {
            weight,
            bias: Some(bias),
            d_in,
            d_out: 3 * d_out,
        })
    }

    /// `dst = x W + b` (or `dst += x W + b` when `accumulate`) for `rows` rows of `x`.
    fn apply(&self, x: &[f32], rows: usize, dst: &mut [f32], accumulate: bool) {
        let dst = &mut dst[..rows * self.d_out];
        let summed = match (&self.bias, accumulate) {
            (Some(bias), true) => {
                add_to_rows(dst, bias);
                true
            }
            (Some(bias), false) => {
                dst.par_chunks_mut(self.d_out)
                    .for_each(|row| row.copy_from_slice(bias));
                true
            }
            (None, accumulate) => accumulate,
        };
        matmul(
            dst,
            self.d_out,
            MatrixView::row_major(&x[..rows * self.d_in], rows, self.d_in),
            MatrixView::row_major(&self.weight, self.d_in, self.d_out),
            summed,
            true,
        );
    }
}

#[derive(Debug)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn from_burn(norm: LayerNorm, eps: f64) -> Result<Self, ModelError> {
        let gamma = floats(norm.gamma)?;
        let beta = match norm.beta {
            Some(beta) => floats(beta)?,
            None => vec![0.0; gamma.len()],
        };
        Ok(Self {
            gamma,
            beta,
            eps: eps as f32,
        })
    }
}

#[derive(Debug)]
struct Layer {
    norm1: Norm,
    qkv: Dense,
    out: Dense,
    norm2: Norm,
    fc1: Dense,
    fc2: Dense,
    heads: usize,
}

impl Layer {
    fn from_burn(layer: EncoderLayer, eps: f64) -> Result<Self, ModelError> {
        let attn = layer.self_attn;
        let width = attn.q_proj.weight.dims()[1];
        let heads = attn.num_heads.max(1);
        let q_scale = ((width / heads) as f32).powf(-0.5);
        Ok(Self {
            norm1: Norm::from_burn(layer.layer_norm1, eps)?,
            qkv: Dense::fused_qkv(
                Dense::from_burn(attn.q_proj)?,
                Dense::from_burn(attn.k_proj)?,
                Dense::from_burn(attn.v_proj)?,
                q_scale,
            )?,
            out: Dense::from_burn(attn.out_proj)?,
            norm2: Norm::from_burn(layer.layer_norm2, eps)?,
            fc1: Dense::from_burn(layer.mlp.fc1)?,
            fc2: Dense::from_burn(layer.mlp.fc2)?,
            heads,
        })
    }
}

/// Buffers one pass reuses through all its layers.
struct Scratch {
    normed: Vec<f32>,
    qkv: Vec<f32>,
    /// Attention output, head-major per photo (`[photo, head, token, head_dim]`).
    heads_out: Vec<f32>,
    /// The same, token-major (`[photo, token, width]`), the output projection's input.
    attended: Vec<f32>,
    hidden: Vec<f32>,
}

/// The whole tower on the CPU, weights in the layouts its products read.
#[derive(Debug)]
pub struct CpuTower {
    /// `[channels * patch * patch, width]`: the patch convolution as a product.
    patch_weight: Vec<f32>,
    class_embedding: Vec<f32>,
    /// `[tokens, width]`.
    positions: Vec<f32>,
    pre_norm: Norm,
    layers: Vec<Layer>,
    post_norm: Norm,
    projection: Dense,
    image_size: usize,
    patch_size: usize,
    channels: usize,
    width: usize,
    description: String,
}

/// A parameter's values, moved out of burn (no copy when nothing else holds them).
fn floats<const D: usize>(param: Param<Tensor<D>>) -> Result<Vec<f32>, ModelError> {
    read_floats(param.into_value())
}

impl CpuTower {
    /// Takes `tower` apart into the CPU form. `tower` must live on the CPU device.
    pub fn from_burn(tower: ClipVision) -> Result<Self, ModelError> {
        let description = tower.describe();
        let eps = tower.layer_norm_eps;
        let [width, channels, patch_size, _] = tower.embeddings.patch_embedding.weight.dims();
        // Conv weight [width, c, p, p] -> [c p p, width].
        let conv = floats(tower.embeddings.patch_embedding.weight)?;
        let patch_len = channels * patch_size * patch_size;
        let mut patch_weight = vec![0.0; conv.len()];
        for (o, filter) in conv.chunks_exact(patch_len.max(1)).enumerate() {
            for (i, &w) in filter.iter().enumerate() {
                patch_weight[i * width + o] = w;
            }
        }
        Ok(Self {
            patch_weight,
            class_embedding: floats(tower.embeddings.class_embedding)?,
            positions: floats(tower.embeddings.position_embedding.weight)?,
            pre_norm: Norm::from_burn(tower.pre_layernorm, eps)?,
            layers: tower
                .layers
                .into_iter()
                .map(|layer| Layer::from_burn(layer, eps))
                .collect::<Result<_, _>>()?,
            post_norm: Norm::from_burn(tower.post_layernorm, eps)?,
            projection: Dense::from_burn(tower.visual_projection)?,
            image_size: tower.image_size,
            patch_size,
            channels,
            width,
            description,
        })
    }

    pub fn describe(&self) -> String {
        self.description.clone()
    }

    pub fn image_size(&self) -> usize {
        self.image_size
    }

    pub fn projection_dim(&self) -> usize {
        self.projection.d_out
    }

    fn grid(&self) -> usize {
        self.image_size / self.patch_size.max(1)
    }

    fn tokens(&self) -> usize {
        self.grid().pow(2) + 1
    }

    /// Projected features (`n x projection_dim`, row-major) of `n` photos' normalised pixels
    /// (`[n, 3, s, s]` row-major, see `photo::preprocess`).
    pub fn forward(&self, pixels: &[f32], n: usize) -> Result<Vec<f32>, ModelError> {
        let s = self.image_size;
        if pixels.len() != n * self.channels * s * s {
            return Err(ModelError::Shape(format!(
                "{} pixel values for {n} photos of {s} x {s} x {}",
                pixels.len(),
                self.channels
            )));
        }
        let mut x = self.embed(pixels, n);
        layer_norm_in_place(
            &mut x,
            &self.pre_norm.gamma,
            &self.pre_norm.beta,
            self.pre_norm.eps,
        );
        let mut scratch = self.scratch(n);
        for layer in &self.layers {
            self.layer_forward(layer, &mut x, n, &mut scratch);
        }
        let tokens = self.tokens();
        let mut pooled: Vec<f32> = x
            .chunks_exact(tokens * self.width)
            .flat_map(|photo| photo[..self.width].to_vec())
            .collect();
        let post = &self.post_norm;
        layer_norm_in_place(&mut pooled, &post.gamma, &post.beta, post.eps);
        let mut out = vec![0.0; n * self.projection.d_out];
        self.projection.apply(&pooled, n, &mut out, false);
        Ok(out)
    }

    fn scratch(&self, n: usize) -> Scratch {
        let rows = n * self.tokens();
        let intermediate = self.layers.first().map_or(0, |l| l.fc1.d_out);
        Scratch {
            normed: vec![0.0; rows * self.width],
            qkv: vec![0.0; rows * 3 * self.width],
            heads_out: vec![0.0; rows * self.width],
            attended: vec![0.0; rows * self.width],
            hidden: vec![0.0; rows * intermediate],
        }
    }

    /// Class token and patch embeddings plus positions: `[n * tokens, width]`.
    fn embed(&self, pixels: &[f32], n: usize) -> Vec<f32> {
        let (grid, p, s, c, w) = (
            self.grid(),
            self.patch_size,
            self.image_size,
            self.channels,
            self.width,
        );
        let patch_len = c * p * p;
        // im2col: each patch's values in the conv weight's (channel, row, column) order.
        let mut patches = vec![0.0; n * grid * grid * patch_len];
        patches
            .par_chunks_mut(patch_len)
            .enumerate()
            .for_each(|(index, patch)| {
                let (photo, cell) = (index / (grid * grid), index % (grid * grid));
                let (gy, gx) = (cell / grid, cell % grid);
                for ch in 0..c {
                    for py in 0..p {
                        let src = ((photo * c + ch) * s + gy * p + py) * s + gx * p;
                        let dst = (ch * p + py) * p;
                        patch[dst..dst + p].copy_from_slice(&pixels[src..src + p]);
                    }
                }
            });
        let tokens = self.tokens();
        let mut x = vec![0.0; n * tokens * w];
        for (photo, out) in x.chunks_exact_mut(tokens * w).enumerate() {
            out[..w].copy_from_slice(&self.class_embedding);
            let cells = grid * grid;
            matmul(
                &mut out[w..],
                w,
                MatrixView::row_major(
                    &patches[photo * cells * patch_len..(photo + 1) * cells * patch_len],
                    cells,
                    patch_len,
                ),
                MatrixView::row_major(&self.patch_weight, patch_len, w),
                false,
                true,
            );
            for (v, pos) in out.iter_mut().zip(&self.positions) {
                *v += pos;
            }
        }
        x
    }

    /// One pre-norm encoder block on the residual stream `x` (`[n * tokens, width]`).
    fn layer_forward(&self, layer: &Layer, x: &mut [f32], n: usize, scratch: &mut Scratch) {
        let rows = n * self.tokens();
        let n1 = &layer.norm1;
        layer_norm_into(x, &mut scratch.normed, &n1.gamma, &n1.beta, n1.eps);
        layer
            .qkv
            .apply(&scratch.normed, rows, &mut scratch.qkv, false);
        self.attention(layer.heads, scratch);
        layer.out.apply(&scratch.attended, rows, x, true);
        let n2 = &layer.norm2;
        layer_norm_into(x, &mut scratch.normed, &n2.gamma, &n2.beta, n2.eps);
        layer
            .fc1
            .apply(&scratch.normed, rows, &mut scratch.hidden, false);
        quick_gelu_in_place(&mut scratch.hidden[..rows * layer.fc1.d_out]);
        layer.fc2.apply(&scratch.hidden, rows, x, true);
    }

    /// `softmax(q k^T) v` for every photo and head (q already scaled), from `scratch.qkv`
    /// (`[photo, token, (q | k | v)]`) into `scratch.attended` (`[photo, token, width]`).
    fn attention(&self, heads: usize, scratch: &mut Scratch) {
        let (tokens, w) = (self.tokens(), self.width);
        let d = w / heads;
        let qkv = &scratch.qkv;
        scratch
            .heads_out
            .par_chunks_mut(tokens * d)
            .enumerate()
            .for_each(|(index, out)| {
                let (photo, head) = (index / heads, index % heads);
                let base = photo * tokens * 3 * w + head * d;
                let view = |offset: usize| MatrixView {
                    data: &qkv[base + offset..],
                    rows: tokens,
                    cols: d,
                    row_stride: 3 * w,
                    col_stride: 1,
                };
                let mut scores = vec![0.0; tokens * tokens];
                matmul(
                    &mut scores,
                    tokens,
                    view(0),
                    view(w).transposed(),
                    false,
                    false,
                );
                softmax_rows_in_place(&mut scores, tokens);
                let weights = MatrixView::row_major(&scores, tokens, tokens);
                matmul(out, d, weights, view(2 * w), false, false);
            });
        // Head-major back to token-major: photo p, token t, head h at [p, t, h * d ..].
        let heads_out = &scratch.heads_out;
        scratch
            .attended
            .par_chunks_mut(w)
            .enumerate()
            .for_each(|(row, out)| {
                let (photo, token) = (row / tokens, row % tokens);
                for (head, part) in out.chunks_exact_mut(d).enumerate() {
                    let src = ((photo * heads + head) * tokens + token) * d;
                    part.copy_from_slice(&heads_out[src..src + d]);
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use burn::tensor::Distribution;

    use super::*;
    use crate::model::backend::cpu_device;
    use crate::model::clip::vision::ClipVisionConfig;
    use crate::model::clip::weights::load_clip_vision;

    fn max_relative_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
            .fold(0.0, f32::max)
    }

    #[test]
    fn gives_burns_answer_for_a_batch() {
        // Head width 12: the folded q scale (12^-0.5) is not a power of two.
        let config = ClipVisionConfig::new()
            .with_image_size(42)
            .with_hidden_size(48)
            .with_intermediate_size(96)
            .with_num_hidden_layers(3)
            .with_num_attention_heads(4)
            .with_projection_dim(16);
        let device = cpu_device();
        let vision = config.init(&device);
        let pixels = Tensor::<4>::random([3, 3, 42, 42], Distribution::Normal(0.0, 1.0), &device);
        let values = read_floats(pixels.clone()).expect("floats");
        let want = read_floats(vision.forward(pixels)).expect("floats");
        let tower = CpuTower::from_burn(vision).expect("converts");
        let got = tower.forward(&values, 3).expect("runs");
        assert!(want.iter().any(|v| v.abs() > 0.1), "features with signal");
        let diff = max_relative_diff(&got, &want);
        assert!(diff < 1e-5, "max relative difference {diff}");
        // Each photo of the batch gets what it gets alone.
        let alone = tower
            .forward(&values[3 * 42 * 42..2 * 3 * 42 * 42], 1)
            .expect("runs");
        let diff = max_relative_diff(&alone, &got[16..32]);
        assert!(diff < 1e-5, "max relative difference {diff}");
    }

    #[test]
    fn matches_transformers_on_a_tiny_random_model() {
        #[derive(serde::Deserialize)]
        struct Reference {
            pixels: Vec<f32>,
            image_embeds: Vec<Vec<f32>>,
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip_tiny");
        let text = std::fs::read_to_string(dir.join("reference.json")).expect("fixture");
        let reference: Reference = serde_json::from_str(&text).expect("parses");
        let vision = load_clip_vision(&dir, &cpu_device()).expect("tiny tower loads");
        let tower = CpuTower::from_burn(vision).expect("converts");
        let got = tower.forward(&reference.pixels, 2).expect("runs");
        let want = reference.image_embeds.concat();
        let max_abs = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert_eq!(got.len(), want.len());
        assert!(max_abs < 1e-4, "max abs diff {max_abs}");
    }

    #[test]
    fn pixels_of_the_wrong_size_are_an_error() {
        let config = ClipVisionConfig::new()
            .with_image_size(28)
            .with_hidden_size(16)
            .with_intermediate_size(32)
            .with_num_hidden_layers(1)
            .with_num_attention_heads(2)
            .with_projection_dim(8);
        let tower = CpuTower::from_burn(config.init(&cpu_device())).expect("converts");
        let err = tower.forward(&[0.0; 100], 1).expect_err("too few");
        assert!(err.to_string().contains("100 pixel values"), "{err}");
        assert_eq!(tower.forward(&[], 0).expect("no photos"), Vec::<f32>::new());
    }

    #[test]
    fn matmul_reads_strided_and_transposed_views() {
        // a: 2x3 inside rows of 5 values; b = a^T (3x2) read from the same memory.
        let data: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let a = MatrixView {
            data: &data[1..],
            rows: 2,
            cols: 3,
            row_stride: 5,
            col_stride: 1,
        };
        let mut dst = vec![1.0; 4];
        matmul(&mut dst, 2, a, a.transposed(), true, false);
        // a = [[1,2,3],[6,7,8]]; a a^T = [[14, 44], [44, 149]], plus the 1s already there.
        assert_eq!(dst, vec![15.0, 45.0, 45.0, 150.0]);
    }
}
