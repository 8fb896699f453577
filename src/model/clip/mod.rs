//! CLIP's image tower (ViT-L/14 for GeoCLIP): the architecture (`vision.rs`) and its weights in
//! the Hugging Face layout (`weights.rs`).

pub mod cpu_kernels;
pub mod vision;
pub mod weights;
