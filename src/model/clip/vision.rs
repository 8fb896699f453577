//! CLIP's vision transformer (Radford et al. 2021) with its projection, as in Hugging Face's
//! `CLIPVisionModelWithProjection`: patch embedding, class token, position embeddings,
//! pre-LayerNorm, pre-norm encoder blocks (multi-head attention, QuickGELU MLP),
//! post-LayerNorm on the class token, linear projection. GeoCLIP uses the ViT-L/14 size.
//!
//! Module and field names follow the Hugging Face tensor names so that `weights.rs` only has
//! to strip the `vision_model.` prefix.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::{Device, Distribution, Tensor};

use super::cpu_kernels;

/// transformers' `initializer_range` for CLIP: the spread of the patch and position
/// embeddings of an untrained tower.
const INITIALIZER_RANGE: f64 = 0.02;

#[derive(Config, Debug, PartialEq)]
pub struct ClipVisionConfig {
    #[config(default = 224)]
    pub image_size: usize,
    #[config(default = 14)]
    pub patch_size: usize,
    #[config(default = 3)]
    pub num_channels: usize,
    #[config(default = 1024)]
    pub hidden_size: usize,
    #[config(default = 4096)]
    pub intermediate_size: usize,
    #[config(default = 24)]
    pub num_hidden_layers: usize,
    #[config(default = 16)]
    pub num_attention_heads: usize,
    #[config(default = 768)]
    pub projection_dim: usize,
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

/// See [`ClipVision::peak_bytes_per_image`].
fn peak_bytes_per_image(
    tokens: usize,
    hidden: usize,
    heads: usize,
    intermediate: usize,
    image_size: usize,
) -> u64 {
    let largest = [
        heads * tokens * tokens,
        tokens * intermediate,
        3 * tokens * hidden,
        3 * image_size * image_size,
    ]
    .into_iter()
    .max()
    .unwrap_or(1);
    4 * largest as u64
}

impl ClipVisionConfig {
    /// [`ClipVision::peak_bytes_per_image`] of a tower of this shape.
    pub fn peak_bytes_per_image(&self) -> u64 {
        peak_bytes_per_image(
            self.num_patches() + 1,
            self.hidden_size,
            self.num_attention_heads,
            self.intermediate_size,
            self.image_size,
        )
    }

    /// OpenAI's CLIP ViT-L/14 at 224 px (`openai/clip-vit-large-patch14`), GeoCLIP's backbone.
    pub fn vit_large_patch14() -> Self {
        Self::new()
    }

    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }

    /// Parameters in the tower (weights and biases).
    pub fn num_params(&self) -> usize {
        let (h, i) = (self.hidden_size, self.intermediate_size);
        let embeddings =
            h * self.num_channels * self.patch_size.pow(2) + h + (self.num_patches() + 1) * h;
        let block = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 4 * h;
        embeddings + 2 * h + self.num_hidden_layers * block + 2 * h + h * self.projection_dim
    }

    /// Untrained tower: a shape to load weights into (see `weights.rs`), or a stand-in for
    /// timing the architecture; never used for predictions. Drawn as transformers initialises
    /// CLIP (normal weights with its per-layer scales; biases drawn too, where it has zeros),
    /// so that its activations stay in the range of a trained tower's and timings with it hold
    /// for the real one: with burn's default initialisation they grow through the 24 layers
    /// and the CPU slows down on the extreme values (the pipeline bench's tower took 1.20 s
    /// with it, 1.08-1.13 s with this; the same tower loaded from transformers' weights runs as
    /// fast as this one).
    pub fn init(&self, device: &Device) -> ClipVision {
        let (h, i) = (self.hidden_size, self.intermediate_size);
        let layer_norm = || LayerNormConfig::new(h).with_epsilon(self.layer_norm_eps);
        let normal = |std: f64| Initializer::Normal { mean: 0.0, std };
        let linear = |a, b, std| {
            LinearConfig::new(a, b)
                .with_initializer(normal(std))
                .init(device)
        };
        let width = (h as f64).powf(-0.5);
        let in_proj_std = width * ((2 * self.num_hidden_layers) as f64).powf(-0.5);
        let fc1_std = ((2 * h) as f64).powf(-0.5);
        ClipVision {
            embeddings: ClipEmbeddings {
                class_embedding: Param::from_tensor(Tensor::random(
                    [h],
                    Distribution::Normal(0.0, width),
                    device,
                )),
                patch_embedding: Conv2dConfig::new(
                    [self.num_channels, h],
                    [self.patch_size, self.patch_size],
                )
                .with_stride([self.patch_size, self.patch_size])
                .with_bias(false)
                .with_initializer(normal(INITIALIZER_RANGE))
                .init(device),
                position_embedding: EmbeddingConfig::new(self.num_patches() + 1, h)
                    .with_initializer(normal(INITIALIZER_RANGE))
                    .init(device),
            },
            pre_layernorm: layer_norm().init(device),
            layers: (0..self.num_hidden_layers)
                .map(|_| EncoderLayer {
                    self_attn: Attention {
                        q_proj: linear(h, h, in_proj_std),
                        k_proj: linear(h, h, in_proj_std),
                        v_proj: linear(h, h, in_proj_std),
                        out_proj: linear(h, h, width),
                        num_heads: self.num_attention_heads,
                    },
                    layer_norm1: layer_norm().init(device),
                    mlp: Mlp {
                        fc1: linear(h, i, fc1_std),
                        fc2: linear(i, h, in_proj_std),
                    },
                    layer_norm2: layer_norm().init(device),
                })
                .collect(),
            post_layernorm: layer_norm().init(device),
            visual_projection: LinearConfig::new(h, self.projection_dim)
                .with_bias(false)
                .with_initializer(normal(width))
                .init(device),
            image_size: self.image_size,
            layer_norm_eps: self.layer_norm_eps,
        }
    }
}

#[derive(Module, Debug)]
pub struct ClipEmbeddings {
    /// `[hidden]`
    pub class_embedding: Param<Tensor<1>>,
    pub patch_embedding: Conv2d,
    pub position_embedding: Embedding,
}

#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub num_heads: usize,
}

impl Attention {
    /// Full (unmasked) self-attention, `[b, n, h]` -> `[b, n, h]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, h] = x.dims();
        let head_dim = h / self.num_heads;
        let split = |t: Tensor<3>| t.reshape([b, n, self.num_heads, head_dim]).swap_dims(1, 2);
        let q = split(
            self.q_proj
                .forward(x.clone())
                .mul_scalar((head_dim as f64).powf(-0.5)),
        );
        let k = split(self.k_proj.forward(x.clone()));
        let v = split(self.v_proj.forward(x));
        let weights = cpu_kernels::softmax_last(q.matmul(k.swap_dims(2, 3)));
        let out = weights.matmul(v).swap_dims(1, 2).reshape([b, n, h]);
        self.out_proj.forward(out)
    }
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
}

/// CLIP's activation: `x * sigmoid(1.702 x)` (one threaded pass on the CPU, see
/// [`cpu_kernels`]).
pub fn quick_gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    cpu_kernels::quick_gelu(x)
}

impl Mlp {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.fc2.forward(quick_gelu(self.fc1.forward(x)))
    }
}

#[derive(Module, Debug)]
pub struct EncoderLayer {
    pub self_attn: Attention,
    pub layer_norm1: LayerNorm,
    pub mlp: Mlp,
    pub layer_norm2: LayerNorm,
}

impl EncoderLayer {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + self.self_attn.forward(self.layer_norm1.forward(x));
        x.clone() + self.mlp.forward(self.layer_norm2.forward(x))
    }
}

#[derive(Module, Debug)]
pub struct ClipVision {
    pub embeddings: ClipEmbeddings,
    pub pre_layernorm: LayerNorm,
    pub layers: Vec<EncoderLayer>,
    pub post_layernorm: LayerNorm,
    pub visual_projection: Linear,
    pub image_size: usize,
    /// The LayerNorms' epsilon (burn keeps its own private; the CPU form needs it).
    pub layer_norm_eps: f64,
}

impl ClipVision {
    /// Side of the square input in pixels.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// What this tower is, for status lines: "CLIP ViT-L/14", or its shape when it is not.
    pub fn describe(&self) -> String {
        let layers = self.layers.len();
        let width = self.pre_layernorm.gamma.dims()[0];
        let patch = self.embeddings.patch_embedding.weight.dims()[2];
        if (layers, width, patch, self.image_size) == (24, 1024, 14, 224) {
            "CLIP ViT-L/14".into()
        } else {
            format!(
                "a CLIP-shaped tower of {layers} layers, width {width}, patch {patch}, {} px \
                 (not ViT-L/14: not GeoCLIP's backbone)",
                self.image_size
            )
        }
    }

    /// Bytes one image occupies in the tower's largest activation: the attention scores
    /// (heads x tokens x tokens), the MLP's hidden layer or the pixels, float32.
    pub fn peak_bytes_per_image(&self) -> u64 {
        let tokens = self.embeddings.position_embedding.weight.dims()[0];
        let hidden = self.pre_layernorm.gamma.dims()[0];
        let (heads, intermediate) = self.layers.first().map_or((1, hidden), |l| {
            (l.self_attn.num_heads, l.mlp.fc1.weight.dims()[1])
        });
        peak_bytes_per_image(tokens, hidden, heads, intermediate, self.image_size)
    }

    /// Width of the projected features (768 for ViT-L/14).
    pub fn projection_dim(&self) -> usize {
        self.visual_projection.weight.dims()[1]
    }

    /// Projected image features `[b, projection_dim]` of normalised pixels `[b, 3, s, s]`
    /// (see `photo::preprocess`).
    pub fn forward(&self, pixels: Tensor<4>) -> Tensor<2> {
        let patches = self.embeddings.patch_embedding.forward(pixels);
        let [b, h, gh, gw] = patches.dims();
        let patches = patches.reshape([b, h, gh * gw]).swap_dims(1, 2);
        let class = self
            .embeddings
            .class_embedding
            .val()
            .reshape([1, 1, h])
            .repeat_dim(0, b);
        let positions = self
            .embeddings
            .position_embedding
            .weight
            .val()
            .unsqueeze::<3>();
        let mut x = self
            .pre_layernorm
            .forward(Tensor::cat(vec![class, patches], 1) + positions);
        for layer in &self.layers {
            x = layer.forward(x);
        }
        let pooled = x.slice([0..b, 0..1, 0..h]).reshape([b, h]);
        self.visual_projection
            .forward(self.post_layernorm.forward(pooled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backend::cpu_device;

    #[test]
    fn vit_large_has_clips_parameter_count() {
        // CLIP ViT-L/14: 303,179,776 parameters in the vision tower, 786,432 in the projection
        // (Hugging Face `CLIPVisionModelWithProjection`).
        let config = ClipVisionConfig::vit_large_patch14();
        assert_eq!(config.num_patches(), 256);
        assert_eq!(config.num_params(), 303_179_776 + 786_432);
    }

    #[test]
    fn a_tiny_tower_maps_pixels_to_projected_features() {
        let config = ClipVisionConfig::new()
            .with_image_size(28)
            .with_hidden_size(16)
            .with_intermediate_size(32)
            .with_num_hidden_layers(2)
            .with_num_attention_heads(4)
            .with_projection_dim(8);
        let device = cpu_device();
        let tower = config.init(&device);
        let out = tower.forward(Tensor::ones([2, 3, 28, 28], &device));
        assert_eq!(out.dims(), [2, 8]);
        // 5 tokens: 4 heads x 5 x 5 scores < 5 x 32 MLP units < 3 x 28 x 28 pixels.
        assert_eq!(tower.peak_bytes_per_image(), 4 * 3 * 28 * 28);
        assert_eq!(config.peak_bytes_per_image(), tower.peak_bytes_per_image());
    }

    #[test]
    fn vit_large_peaks_in_its_attention_scores() {
        // 16 heads x 257 x 257 float32 = 4.2 MB a photo: 31 photos fit a 128 MiB buffer.
        let config = ClipVisionConfig::vit_large_patch14();
        assert_eq!(config.peak_bytes_per_image(), 4 * 16 * 257 * 257);
        assert_eq!((128u64 << 20) / config.peak_bytes_per_image(), 31);
    }
}
