//! Which aerial tiles to look at: slippy-map tiles (zoom 16-18) on a grid around the mass of
//! the most likely geocells, each with the geolocation prior of its position.

use std::fmt;
use std::str::FromStr;

use crate::geo::distance::{EARTH_RADIUS_KM, haversine_km};
use crate::geo::geocells::Granularity;
use crate::geo::mercator::{
    WorldPoint, lat_lon_from_world, tile_from_world, world_bounds_of_tile, world_from_lat_lon,
};
use crate::geo::partition::LatLonDeg;
use crate::predict::{PointGuess, Prediction};

use super::AerialError;

/// Aerial tiles are looked at from this zoom (about 2.4 m a pixel at the equator)...
pub const MIN_ZOOM: u8 = 16;
/// ...to this one (about 0.6 m a pixel): where buildings and roads can be matched.
pub const MAX_ZOOM: u8 = 18;

/// How many of the model's most likely gallery points feed the prior.
const PRIOR_POINTS: usize = 512;

/// A slippy-map tile (`zoom/x/y`, x east from the antimeridian, y south from the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub zoom: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// The tile at `zoom` holding a position.
    pub fn containing(at: LatLonDeg, zoom: u8) -> Self {
        let (x, y) = tile_from_world(world_from_lat_lon(at.lat_deg, at.lon_deg), zoom);
        Self { zoom, x, y }
    }

    /// The tile's centre.
    pub fn center(&self) -> LatLonDeg {
        let (min, max) = world_bounds_of_tile(self.x, self.y, self.zoom);
        let (lat_deg, lon_deg) = lat_lon_from_world(WorldPoint {
            x: (min.x + max.x) / 2.0,
            y: (min.y + max.y) / 2.0,
        });
        LatLonDeg { lat_deg, lon_deg }
    }

    /// North-west and south-east corners.
    pub fn corners(&self) -> (LatLonDeg, LatLonDeg) {
        let (min, max) = world_bounds_of_tile(self.x, self.y, self.zoom);
        let corner = |p| {
            let (lat_deg, lon_deg) = lat_lon_from_world(p);
            LatLonDeg { lat_deg, lon_deg }
        };
        (corner(min), corner(max))
    }

    /// Ground width of the tile at its centre, in km.
    pub fn width_km(&self) -> f64 {
        let circumference_km = 2.0 * std::f64::consts::PI * EARTH_RADIUS_KM;
        circumference_km * self.center().lat_deg.to_radians().cos() / (1u64 << self.zoom) as f64
    }

    fn tiles_per_side(&self) -> i64 {
        1i64 << self.zoom
    }

    /// The tile `dx` east and `dy` south of this one (wrapping east-west), if on the map.
    pub fn offset(&self, dx: i64, dy: i64) -> Option<Self> {
        let n = self.tiles_per_side();
        let y = i64::from(self.y) + dy;
        if !(0..n).contains(&y) {
            return None;
        }
        let x = (i64::from(self.x) + dx).rem_euclid(n);
        Some(Self {
            zoom: self.zoom,
            x: x as u32,
            y: y as u32,
        })
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.zoom, self.x, self.y)
    }
}

impl FromStr for TileId {
    type Err = AerialError;

    /// `zoom/x/y`, as in tile URLs and folders.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AerialError::Invalid(format!("{s:?} is not a tile (zoom/x/y)"));
        let mut parts = s.trim().split('/');
        let (Some(z), Some(x), Some(y), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let zoom: u8 = z.parse().map_err(|_| bad())?;
        let (x, y): (u32, u32) = (x.parse().map_err(|_| bad())?, y.parse().map_err(|_| bad())?);
        if zoom > 24 || u64::from(x) >= 1u64 << zoom || u64::from(y) >= 1u64 << zoom {
            return Err(bad());
        }
        Ok(Self { zoom, x, y })
    }
}

/// How many tiles to look at, and where.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CandidateOptions {
    /// Zoom of the tiles ([`MIN_ZOOM`]..=[`MAX_ZOOM`]).
    pub zoom: u8,
    /// How many of the most likely geocells to look around.
    pub places: usize,
    /// Granularity of those geocells.
    pub granularity: Granularity,
    /// Tiles on each side of a place's centre tile: 1 gives a 3x3 grid.
    pub radius_tiles: u32,
    /// At most this many tiles in all (the ones with the highest prior are kept).
    pub max_tiles: usize,
}

impl Default for CandidateOptions {
    fn default() -> Self {
        Self {
            zoom: 17,
            places: 3,
            granularity: Granularity::Fine,
            radius_tiles: 1,
            max_tiles: 27,
        }
    }
}

impl CandidateOptions {
    /// The bounds a user can set: zoom 16-18, up to 10 places, radius up to 4, 1-200 tiles.
    pub fn validate(&self) -> Result<(), AerialError> {
        if !(MIN_ZOOM..=MAX_ZOOM).contains(&self.zoom) {
            return Err(AerialError::Invalid(format!(
                "tile zoom {} is outside {MIN_ZOOM}-{MAX_ZOOM}",
                self.zoom
            )));
        }
        if !(1..=10).contains(&self.places) {
            return Err(AerialError::Invalid(format!(
                "{} places: between 1 and 10",
                self.places
            )));
        }
        if self.radius_tiles > 4 {
            return Err(AerialError::Invalid(format!(
                "a radius of {} tiles: at most 4",
                self.radius_tiles
            )));
        }
        if !(1..=200).contains(&self.max_tiles) {
            return Err(AerialError::Invalid(format!(
                "{} tiles: between 1 and 200",
                self.max_tiles
            )));
        }
        Ok(())
    }
}

/// Where to look: a place's centre (the mean of its photos) and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub at: LatLonDeg,
    pub probability: f64,
}

/// One tile to score.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Candidate {
    #[serde(serialize_with = "serialize_tile")]
    pub tile: TileId,
    /// Index of the place (most likely first) whose grid this tile came from.
    pub place_rank: usize,
    /// Geolocation prior: the model's probability mass near the tile's centre, relative to
    /// the other candidates (sums to 1 over them; 0 when the model put nothing near).
    pub prior: f64,
}

fn serialize_tile<S: serde::Serializer>(tile: &TileId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(tile)
}

/// The anchors and prior points of a prediction, for [`candidates_around`].
pub fn anchors_of(
    prediction: &Prediction,
    options: &CandidateOptions,
) -> (Vec<Anchor>, Vec<PointGuess>) {
    let anchors = prediction
        .top_places(options.granularity, options.places)
        .into_iter()
        .map(|p| Anchor {
            at: p.center,
            probability: p.probability,
        })
        .collect();
    (anchors, prediction.top_points(PRIOR_POINTS))
}

/// The candidate tiles of a prediction (see [`candidates_around`]).
pub fn candidate_tiles(
    prediction: &Prediction,
    options: &CandidateOptions,
    available: Option<&[TileId]>,
) -> Result<Vec<Candidate>, AerialError> {
    let (anchors, points) = anchors_of(prediction, options);
    candidates_around(&anchors, &points, options, available)
}

/// Tiles on a `(2r+1)` square grid around each anchor, or, when only the `available` tiles
/// can be had (an offline folder), those of them whose centre lies within the grid's reach of
/// an anchor. Each gets the prior of its position: the model's point probabilities smoothed
/// with a Gaussian as wide as the grid. Highest prior first (ties: place, then tile order),
/// at most `max_tiles`. Deterministic.
pub fn candidates_around(
    anchors: &[Anchor],
    points: &[PointGuess],
    options: &CandidateOptions,
    available: Option<&[TileId]>,
) -> Result<Vec<Candidate>, AerialError> {
    options.validate()?;
    let r = i64::from(options.radius_tiles);
    let mut tiles: Vec<(TileId, usize)> = Vec::new();
    for (place_rank, anchor) in anchors.iter().enumerate() {
        let center = TileId::containing(anchor.at, options.zoom);
        match available {
            None => {
                for dy in -r..=r {
                    for dx in -r..=r {
                        if let Some(t) = center.offset(dx, dy) {
                            tiles.push((t, place_rank));
                        }
                    }
                }
            }
            Some(set) => {
                let reach_km = center.width_km() * (r as f64 + 0.5) * std::f64::consts::SQRT_2;
                for t in set {
                    let c = t.center();
                    if haversine_km(c.lat_deg, c.lon_deg, anchor.at.lat_deg, anchor.at.lon_deg)
                        <= reach_km
                    {
                        tiles.push((*t, place_rank));
                    }
                }
            }
        }
    }
    // A tile reached from two places belongs to the more likely one.
    let mut seen = std::collections::HashSet::new();
    tiles.retain(|(t, _)| seen.insert(*t));

    let sigma_km = anchors
        .first()
        .map(|a| TileId::containing(a.at, options.zoom).width_km() * (r as f64 + 1.0))
        .unwrap_or(1.0)
        .max(0.05);
    let density = |at: LatLonDeg| -> f64 {
        points
            .iter()
            .map(|p| {
                let d = haversine_km(at.lat_deg, at.lon_deg, p.lat_deg, p.lon_deg) / sigma_km;
                p.probability * (-0.5 * d * d).exp()
            })
            .sum()
    };
    let raw: Vec<f64> = tiles.iter().map(|(t, _)| density(t.center())).collect();
    let total: f64 = raw.iter().sum();
    let mut candidates: Vec<Candidate> = tiles
        .into_iter()
        .zip(raw)
        .map(|((tile, place_rank), d)| Candidate {
            tile,
            place_rank,
            prior: if total > 0.0 { d / total } else { 0.0 },
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.prior
            .total_cmp(&a.prior)
            .then(a.place_rank.cmp(&b.place_rank))
            .then(a.tile.cmp(&b.tile))
    });
    candidates.truncate(options.max_tiles);
    Ok(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat_deg: f64, lon_deg: f64) -> LatLonDeg {
        LatLonDeg { lat_deg, lon_deg }
    }

    #[test]
    fn tiles_know_their_place_and_size() {
        // Kyoto station at zoom 17.
        let tile = TileId::containing(at(34.9858, 135.7588), 17);
        assert_eq!((tile.x, tile.y), (114964, 51923));
        let c = tile.center();
        assert!(haversine_km(c.lat_deg, c.lon_deg, 34.9858, 135.7588) < 0.25);
        // 40,075 km around the equator / 2^17 tiles, times cos(35 deg).
        assert!(
            (tile.width_km() - 0.2502).abs() < 0.001,
            "{}",
            tile.width_km()
        );
        let (nw, se) = tile.corners();
        assert!(nw.lat_deg > se.lat_deg && nw.lon_deg < se.lon_deg);
        assert_eq!("17/114964/51923".parse::<TileId>().ok(), Some(tile));
        assert_eq!(tile.to_string(), "17/114964/51923");
        for bad in ["17/114965", "x/1/2", "1/2/3", "17/1/2/3", ""] {
            assert!(bad.parse::<TileId>().is_err(), "{bad}");
        }
        // East-west wraps at the antimeridian; north-south stops at the edge.
        let east = TileId {
            zoom: 16,
            x: (1 << 16) - 1,
            y: 0,
        };
        assert_eq!(east.offset(1, 0).map(|t| t.x), Some(0));
        assert_eq!(east.offset(0, -1), None);
    }

    #[test]
    fn grids_are_bounded_prior_ordered_and_deterministic() {
        let anchors = [
            Anchor {
                at: at(35.0, 135.75),
                probability: 0.6,
            },
            Anchor {
                at: at(48.8566, 2.3522),
                probability: 0.3,
            },
        ];
        // The model's mass sits just north-east of the first anchor.
        let points = [
            PointGuess {
                lat_deg: 35.002,
                lon_deg: 135.752,
                probability: 0.5,
            },
            PointGuess {
                lat_deg: 48.8566,
                lon_deg: 2.3522,
                probability: 0.1,
            },
        ];
        let options = CandidateOptions {
            places: 2,
            max_tiles: 100,
            ..Default::default()
        };
        let all = candidates_around(&anchors, &points, &options, None).expect("valid");
        assert_eq!(all.len(), 18, "two 3x3 grids");
        let total: f64 = all.iter().map(|c| c.prior).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(all.windows(2).all(|w| w[0].prior >= w[1].prior));
        let best = all[0].tile.center();
        assert!(haversine_km(best.lat_deg, best.lon_deg, 35.002, 135.752) < 0.3);
        assert_eq!(all.iter().filter(|c| c.place_rank == 1).count(), 9);

        let few = CandidateOptions {
            max_tiles: 5,
            ..options
        };
        let some = candidates_around(&anchors, &points, &few, None).expect("valid");
        assert_eq!(some, all[..5]);
        assert_eq!(
            candidates_around(&anchors, &points, &few, None).expect("valid"),
            some,
            "same inputs, same candidates"
        );
        let wider = CandidateOptions {
            radius_tiles: 2,
            ..options
        };
        assert_eq!(
            candidates_around(&anchors, &points, &wider, None)
                .expect("valid")
                .len(),
            50
        );
        for bad in [
            CandidateOptions {
                zoom: 15,
                ..options
            },
            CandidateOptions {
                zoom: 19,
                ..options
            },
            CandidateOptions {
                max_tiles: 0,
                ..options
            },
            CandidateOptions {
                radius_tiles: 9,
                ..options
            },
            CandidateOptions {
                places: 0,
                ..options
            },
        ] {
            assert!(
                candidates_around(&anchors, &points, &bad, None).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_tile_set_gives_only_its_tiles_near_the_places() {
        let anchor = Anchor {
            at: at(35.0, 135.75),
            probability: 1.0,
        };
        let center = TileId::containing(anchor.at, 17);
        let near = center.offset(1, 0).expect("on the map");
        let far = center.offset(30, 0).expect("on the map");
        let other_zoom = TileId::containing(anchor.at, 16);
        let points = [PointGuess {
            lat_deg: 35.0,
            lon_deg: 135.75,
            probability: 1.0,
        }];
        let set = [far, near, other_zoom];
        let got = candidates_around(&[anchor], &points, &CandidateOptions::default(), Some(&set))
            .expect("valid");
        let tiles: Vec<TileId> = got.iter().map(|c| c.tile).collect();
        assert!(
            tiles.contains(&near) && tiles.contains(&other_zoom),
            "{tiles:?}"
        );
        assert!(!tiles.contains(&far));
    }
}
