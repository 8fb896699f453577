//! GeoCLIP (Vivanco Cepeda et al., NeurIPS 2023): location encoder and image head
//! (`location.rs`, `image_head.rs`), their weights (`weights.rs`) and scoring (`scoring.rs`).

pub mod gallery;
pub mod image_head;
pub mod location;
#[cfg(test)]
pub(crate) mod reference_fixture;
pub mod scoring;
pub mod weights;
