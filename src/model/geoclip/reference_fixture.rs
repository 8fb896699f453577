//! The reference GeoCLIP outputs in `tests/fixtures/geoclip_reference.json` (written by
//! `tools/geoclip_reference.py`), for the parity tests.

use std::path::Path;

use serde::Deserialize;

use crate::geo::partition::LatLonDeg;

#[derive(Deserialize)]
pub struct Fixture {
    pub logit_scale: f32,
    pub coordinates: Vec<[f64; 2]>,
    pub location_embeddings: Vec<Vec<f32>>,
    pub clip_inputs: Vec<Vec<f32>>,
    pub image_embeddings: Vec<Vec<f32>>,
    pub gallery_coordinates: Vec<[f64; 2]>,
    pub top5_indices: Vec<Vec<usize>>,
    pub top5_probabilities: Vec<Vec<f32>>,
}

impl Fixture {
    /// The gallery subset the top-5 were computed over.
    pub fn gallery_points(&self) -> Vec<LatLonDeg> {
        self.gallery_coordinates
            .iter()
            .map(|c| LatLonDeg {
                lat_deg: c[0],
                lon_deg: c[1],
            })
            .collect()
    }
}

pub fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoclip_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture present"))
        .expect("fixture parses")
}
