//! Ranking: each tile's appearance match with the photo (two-tower distance) combined with the
//! geolocation prior of its position.

use image::RgbImage;

use super::AerialError;
use super::candidates::{Candidate, TileId};
use super::towers::TwoTower;

/// How much the geolocation prior counts against appearance (0: appearance only, 1: both
/// count alike).
pub const DEFAULT_PRIOR_WEIGHT: f64 = 0.5;

/// A scored tile.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RankedTile {
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Two-tower distance between photo and tile (0: same place, 2: as different as it gets).
    pub distance: f32,
    /// `(1 - distance / 2) * (prior / best prior) ^ prior_weight`, in `[0, 1]`.
    pub score: f64,
}

impl RankedTile {
    pub fn tile(&self) -> TileId {
        self.candidate.tile
    }
}

/// Combines appearance and prior into a score in `[0, 1]`.
pub fn combined_score(distance: f32, prior_relative: f64, prior_weight: f64) -> f64 {
    let appearance = (1.0 - f64::from(distance) / 2.0).clamp(0.0, 1.0);
    let prior = if prior_weight > 0.0 {
        prior_relative.clamp(0.0, 1.0).powf(prior_weight)
    } else {
        1.0
    };
    appearance * prior
}

/// Scores already-embedded tiles: highest score first, ties broken by tile order, so the same
/// inputs always give the same ranking.
pub fn rank_by_distance(
    candidates: &[Candidate],
    distances: &[f32],
    prior_weight: f64,
) -> Vec<RankedTile> {
    let best_prior = candidates.iter().map(|c| c.prior).fold(0.0, f64::max);
    let mut ranked: Vec<RankedTile> = candidates
        .iter()
        .zip(distances)
        .map(|(c, &d)| {
            let relative = if best_prior > 0.0 {
                c.prior / best_prior
            } else {
                1.0
            };
            RankedTile {
                candidate: *c,
                distance: d,
                score: combined_score(d, relative, prior_weight),
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.distance.total_cmp(&b.distance))
            .then(a.candidate.tile.cmp(&b.candidate.tile))
    });
    ranked
}

/// Embeds the photo and the tiles (tiles batched by the towers) and ranks the tiles.
/// `tiles` pairs each candidate with its pixels; tiles that could not be had are left out by
/// the caller.
pub fn rank_tiles(
    towers: &dyn TwoTower,
    photo: &RgbImage,
    tiles: &[(Candidate, &RgbImage)],
    prior_weight: f64,
) -> Result<Vec<RankedTile>, AerialError> {
    if tiles.is_empty() {
        return Ok(Vec::new());
    }
    let ground = towers
        .embed_ground(&[photo])?
        .pop()
        .ok_or_else(|| AerialError::Tower("no embedding for the photo".into()))?;
    let images: Vec<&RgbImage> = tiles.iter().map(|(_, image)| *image).collect();
    let aerial = towers.embed_aerial(&images)?;
    if aerial.len() != tiles.len() {
        return Err(AerialError::Tower(format!(
            "{} embeddings for {} tiles",
            aerial.len(),
            tiles.len()
        )));
    }
    let distances: Vec<f32> = aerial.iter().map(|a| towers.distance(&ground, a)).collect();
    let candidates: Vec<Candidate> = tiles.iter().map(|(c, _)| *c).collect();
    Ok(rank_by_distance(&candidates, &distances, prior_weight))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aerial::towers::ColourTowers;

    fn candidate(y: u32, prior: f64) -> Candidate {
        Candidate {
            tile: TileId { zoom: 17, x: 5, y },
            place_rank: 0,
            prior,
        }
    }

    #[test]
    fn appearance_and_prior_combine_and_ties_are_broken_by_tile() {
        let candidates = [candidate(3, 0.25), candidate(1, 0.5), candidate(2, 0.25)];
        // Tile y=3 matches best, y=1 has the highest prior.
        let distances = [0.0, 1.0, 1.0];
        let appearance_only = rank_by_distance(&candidates, &distances, 0.0);
        let order: Vec<u32> = appearance_only.iter().map(|r| r.tile().y).collect();
        assert_eq!(order, [3, 1, 2], "equal distances keep tile order");
        assert_eq!(appearance_only[0].score, 1.0);
        assert_eq!(appearance_only[1].score, 0.5);

        let with_prior = rank_by_distance(&candidates, &distances, 1.0);
        let scores: Vec<(u32, f64)> = with_prior.iter().map(|r| (r.tile().y, r.score)).collect();
        // Equal scores: the better appearance match first.
        assert_eq!(scores, [(3, 0.5), (1, 0.5), (2, 0.25)]);
        // A stronger prior weight never raises a tile whose prior is below the best.
        assert!(combined_score(0.0, 0.25, 2.0) < combined_score(0.0, 0.25, 1.0));
        assert_eq!(combined_score(0.0, 0.0, 0.0), 1.0);
    }

    #[test]
    fn ranking_the_same_tiles_twice_gives_the_same_order() {
        let photo = RgbImage::from_pixel(8, 8, image::Rgb([30, 140, 40]));
        let grass = RgbImage::from_pixel(8, 8, image::Rgb([40, 150, 30]));
        let roof = RgbImage::from_pixel(8, 8, image::Rgb([200, 60, 40]));
        let water = RgbImage::from_pixel(8, 8, image::Rgb([20, 40, 200]));
        let tiles = [
            (candidate(1, 0.2), &roof),
            (candidate(2, 0.2), &grass),
            (candidate(3, 0.2), &water),
            (candidate(4, 0.2), &roof),
        ];
        let first = rank_tiles(&ColourTowers, &photo, &tiles, 0.5).expect("ranks");
        assert_eq!(
            first[0].tile().y,
            2,
            "the green tile matches the green photo"
        );
        assert_eq!(first[0].distance, 0.0);
        let ys: Vec<u32> = first.iter().map(|r| r.tile().y).collect();
        assert_eq!(ys, [2, 1, 3, 4]);
        for _ in 0..3 {
            assert_eq!(
                rank_tiles(&ColourTowers, &photo, &tiles, 0.5).expect("ranks"),
                first
            );
        }
        assert!(
            rank_tiles(&ColourTowers, &photo, &[], 0.5)
                .expect("ranks")
                .is_empty()
        );
    }
}
