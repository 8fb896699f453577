//! PlaNet's "spatial support for decision": which parts of the photo the answer rests on.

use image::RgbImage;

use super::{PlaceGuess, Predictor};
use crate::geo::geocells::Granularity;
use crate::model::ModelError;
use crate::photo::preprocess::clip_pixels;

/// PlaNet's "spatial support for decision": how much hiding each part of the photo lowers
/// the probability of the model's top cell.
#[derive(Debug, Clone, PartialEq)]
pub struct OcclusionMap {
    /// Patches per side; `drops` is row-major, `grid * grid` long.
    pub grid: usize,
    /// Top-cell probability without the patch minus with it (positive: the patch supports
    /// the decision).
    pub drops: Vec<f32>,
    /// The cell whose probability is tracked, and its probability on the whole photo.
    pub top_place: PlaceGuess,
    /// Side of the square crop the grid covers, in pixels of the model's input.
    pub input_size_px: u32,
}

impl Predictor {
    /// Occludes the model's input with a `grid` x `grid` raster of mean-grey patches (CLIP's
    /// mean colour: zero after normalisation), one at a time, and records how much each lowers
    /// the top cell's probability at `granularity`. `progress(done, total)` after each batch;
    /// returns `None` when `cancelled` turns true.
    pub fn occlusion_map(
        &self,
        photo: &RgbImage,
        granularity: Granularity,
        grid: usize,
        batch: usize,
        mut progress: impl FnMut(usize, usize),
        cancelled: impl Fn() -> bool,
    ) -> Result<Option<OcclusionMap>, ModelError> {
        let grid = grid.clamp(1, 32);
        let size = self.input_size_px();
        let s = size as usize;
        let base = clip_pixels(photo, size);
        let baseline = self
            .geolocator
            .predict_features(self.features(base.clone(), 1)?)?
            .pop()
            .ok_or_else(|| ModelError::Shape("no prediction".into()))?;
        let top_place = baseline
            .top_places(granularity, 1)
            .pop()
            .ok_or_else(|| ModelError::Shape("no geocells".into()))?;
        let cells = self.geolocator.index.cells(granularity);
        let top_index = cells
            .lookup_index(top_place.center.lat_deg, top_place.center.lon_deg)
            .ok_or_else(|| ModelError::Shape("top cell not found".into()))?;
        let patches: Vec<(usize, usize)> = (0..grid)
            .flat_map(|gy| (0..grid).map(move |gx| (gy, gx)))
            .collect();
        let mut drops = Vec::with_capacity(patches.len());
        for chunk in patches.chunks(batch.clamp(1, self.max_batch)) {
            if cancelled() {
                return Ok(None);
            }
            let mut pixels = Vec::with_capacity(chunk.len() * base.len());
            for &(gy, gx) in chunk {
                let mut occluded = base.clone();
                let (y0, y1) = (gy * s / grid, (gy + 1) * s / grid);
                let (x0, x1) = (gx * s / grid, (gx + 1) * s / grid);
                for c in 0..3 {
                    for y in y0..y1 {
                        let row = c * s * s + y * s;
                        occluded[row + x0..row + x1].fill(0.0);
                    }
                }
                pixels.extend(occluded);
            }
            let predictions = self
                .geolocator
                .predict_features(self.features(pixels, chunk.len())?)?;
            for p in predictions {
                let probability = p.cell_probabilities(granularity).scores[top_index].probability;
                drops.push((top_place.probability - probability) as f32);
            }
            progress(drops.len(), patches.len());
        }
        Ok(Some(OcclusionMap {
            grid,
            drops,
            top_place,
            input_size_px: size,
        }))
    }
}
