//! CLIP's image tower (ViT-L/14 for GeoCLIP): the architecture (`vision.rs`), its weights in
//! the Hugging Face layout (`weights.rs`), the fused form the CPU runs (`cpu_tower.rs`, with
//! its kernels in `cpu_kernels.rs`), and the tower as the predictor holds it (`tower.rs`).

pub mod cpu_kernels;
pub mod cpu_tower;
pub mod safetensors;
pub mod tower;
pub mod vision;
pub mod weights;
