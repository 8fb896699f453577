//! GeoCLIP's image head: CLIP's 768-d image embedding -> Linear 768 -> ReLU -> Linear 512.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

#[derive(Config, Debug)]
pub struct ImageHeadConfig {
    #[config(default = 768)]
    pub clip_embedding: usize,
    #[config(default = 512)]
    pub embedding: usize,
}

#[derive(Module, Debug)]
pub struct ImageHead {
    pub fc1: Linear,
    pub fc2: Linear,
}

impl ImageHeadConfig {
    /// Untrained layers: a shape to load weights into (see `weights.rs`).
    pub fn init(&self, device: &Device) -> ImageHead {
        ImageHead {
            fc1: LinearConfig::new(self.clip_embedding, self.clip_embedding).init(device),
            fc2: LinearConfig::new(self.clip_embedding, self.embedding).init(device),
        }
    }
}

impl ImageHead {
    /// Width of the CLIP features it takes (burn stores Linear weights as `[in, out]`).
    pub fn input_dim(&self) -> usize {
        self.fc1.weight.dims()[0]
    }

    /// `[n, clip_embedding]` -> `[n, embedding]`.
    pub fn forward(&self, clip_features: Tensor<2>) -> Tensor<2> {
        self.fc2.forward(relu(self.fc1.forward(clip_features)))
    }
}
