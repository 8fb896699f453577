//! Two-tower scorers: one tower embeds the ground photo, the other the aerial tile, and a
//! distance between the two embeddings says how well they match (small: the same place).
//! Where-CNN trains both towers with a contrastive loss; [`ClipTowers`] is the paper's
//! "pretrained features" baseline (one CLIP image tower for both sides, shared parameters), and
//! a trained Where-CNN can implement [`TwoTower`] in its place without touching the UI.

use image::RgbImage;

use super::AerialError;
use crate::predict::Predictor;

/// How many images go through a tower in one pass.
pub const EMBED_BATCH: usize = 16;

/// A ground tower, an aerial tower and the distance between their embeddings.
pub trait TwoTower {
    /// What the towers are, for status lines and reports.
    fn describe(&self) -> String;
    /// One embedding per photo, in order.
    fn embed_ground(&self, photos: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError>;
    /// One embedding per aerial tile, in order.
    fn embed_aerial(&self, tiles: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError>;
    /// Distance between a ground and an aerial embedding (default: Euclidean distance of the
    /// unit vectors, 0 = same direction, 2 = opposite, as in Where-CNN's contrastive loss).
    fn distance(&self, ground: &[f32], aerial: &[f32]) -> f32 {
        unit_euclidean(ground, aerial)
    }
}

/// Euclidean distance between `a` and `b` scaled to unit length; 2 (the largest) when either
/// has no direction or their lengths differ.
pub fn unit_euclidean(a: &[f32], b: &[f32]) -> f32 {
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if a.len() != b.len() || na == 0.0 || nb == 0.0 || !na.is_finite() || !nb.is_finite() {
        return 2.0;
    }
    let cosine: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum::<f64>()
        / (na * nb);
    // |a/|a| - b/|b||^2 = 2 - 2 cos
    (2.0 - 2.0 * cosine.clamp(-1.0, 1.0)).max(0.0).sqrt() as f32
}

/// CLIP's image tower for both the photo and the tile (shared parameters).
pub struct ClipTowers<'a> {
    predictor: &'a Predictor,
}

impl<'a> ClipTowers<'a> {
    pub fn new(predictor: &'a Predictor) -> Self {
        Self { predictor }
    }

    fn embed(&self, images: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
        self.predictor
            .clip_embeddings(images, EMBED_BATCH)
            .map_err(|e| AerialError::Tower(e.to_string()))
    }
}

impl TwoTower for ClipTowers<'_> {
    fn describe(&self) -> String {
        format!(
            "{} on photo and tile alike (shared parameters, not trained for matching: \
             Where-CNN's baseline)",
            self.predictor.tower_description()
        )
    }

    fn embed_ground(&self, photos: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
        self.embed(photos)
    }

    fn embed_aerial(&self, tiles: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
        self.embed(tiles)
    }
}

/// Colour histograms (4 levels a channel, 64 bins) for both sides: the simplest appearance
/// baseline. Needs no weights, so tests and UI tests use it as the scorer with a known
/// answer: images of the same colours are at distance 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct ColourTowers;

impl ColourTowers {
    fn histogram(image: &RgbImage) -> Vec<f32> {
        let mut bins = vec![0f32; 64];
        for p in image.pixels() {
            let q = |v: u8| usize::from(v >> 6);
            bins[q(p[0]) * 16 + q(p[1]) * 4 + q(p[2])] += 1.0;
        }
        let total = (image.width() as f32 * image.height() as f32).max(1.0);
        bins.iter_mut().for_each(|b| *b /= total);
        bins
    }
}

impl TwoTower for ColourTowers {
    fn describe(&self) -> String {
        "colour histograms (baseline, no learned features)".into()
    }

    fn embed_ground(&self, photos: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
        Ok(photos.iter().map(|p| Self::histogram(p)).collect())
    }

    fn embed_aerial(&self, tiles: &[&RgbImage]) -> Result<Vec<Vec<f32>>, AerialError> {
        Ok(tiles.iter().map(|t| Self::histogram(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_distances_span_zero_to_two() {
        assert_eq!(unit_euclidean(&[1.0, 0.0], &[3.0, 0.0]), 0.0);
        assert!((unit_euclidean(&[1.0, 0.0], &[0.0, 2.0]) - 2f32.sqrt()).abs() < 1e-6);
        assert!((unit_euclidean(&[1.0, 0.0], &[-1.0, 0.0]) - 2.0).abs() < 1e-6);
        assert_eq!(unit_euclidean(&[0.0, 0.0], &[1.0, 0.0]), 2.0);
        assert_eq!(unit_euclidean(&[1.0], &[1.0, 0.0]), 2.0);
        assert_eq!(unit_euclidean(&[f32::NAN], &[1.0]), 2.0);
    }

    #[test]
    fn colour_towers_match_images_of_the_same_colours() {
        let red = RgbImage::from_pixel(8, 8, image::Rgb([220, 20, 20]));
        let big_red = RgbImage::from_pixel(64, 32, image::Rgb([230, 30, 10]));
        let green = RgbImage::from_pixel(8, 8, image::Rgb([20, 200, 20]));
        let towers = ColourTowers;
        let ground = towers.embed_ground(&[&red]).expect("embeds");
        let aerial = towers.embed_aerial(&[&big_red, &green]).expect("embeds");
        assert_eq!(towers.distance(&ground[0], &aerial[0]), 0.0);
        assert!((towers.distance(&ground[0], &aerial[1]) - 2f32.sqrt()).abs() < 1e-6);
    }
}
